package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric name.
const namespace = "signer"

// latencyBuckets span a 1 KB signature (sub-millisecond) to a 512 MB
// archive (seconds), in seconds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds the service's collectors in a registry of its own, so tests
// and several servers in one process never share state.
type Metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	inFlight       prometheus.Gauge
	signatures     *prometheus.CounterVec
	ledgerBatch    prometheus.Histogram
	ledgerRowByRow prometheus.Counter
	ledgerAppend   *prometheus.HistogramVec
	backendErrors  *prometheus.CounterVec
	backendRetries *prometheus.CounterVec
	verifyFailures *prometheus.CounterVec
	checkpoint     *checkpointMetrics
}

// New returns metrics registered in a fresh registry, with the Go runtime
// and process collectors (memory, goroutines, CPU, open files) included.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "grpc_requests_total",
			Help: "gRPC requests handled, by full method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "grpc_request_duration_seconds",
			Help:    "gRPC request latency from the first byte to the status, by full method and status code.",
			Buckets: latencyBuckets,
		}, []string{"method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "grpc_requests_in_flight",
			Help: "gRPC requests being handled now.",
		}),
		signatures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "signatures_total",
			Help: "Signatures made (and verified after signing), by key backend scheme and key name.",
		}, []string{"backend", "key"}),
		ledgerBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ledger_batch_size",
			Help:    "Entries written to the ledger per commit (group commit batch size).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
		}),
		ledgerRowByRow: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "ledger_batches_entry_by_entry_total",
			Help: "Ledger commits written entry by entry after the batch's one-statement write failed (an idempotency key replayed, or an entry refused).",
		}),
		ledgerAppend: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ledger_append_duration_seconds",
			Help:    "Time from asking the ledger to record an entry to its commit, by result (ok, replay, error).",
			Buckets: latencyBuckets,
		}, []string{"result"}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "kms_backend_errors_total",
			Help: "Failed signing calls to a key backend, by scheme and error class.",
		}, []string{"backend", "class"}),
		backendRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "kms_backend_retries_total",
			Help: "Retries of key backend calls after a transient failure, by scheme.",
		}, []string{"backend"}),
		verifyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "kms_verify_after_sign_failures_total",
			Help: "Signatures a backend returned that failed verification and were discarded, by scheme.",
		}, []string{"backend"}),
	}
	m.reg.MustRegister(
		m.requests, m.latency, m.inFlight, m.signatures, m.ledgerBatch, m.ledgerRowByRow, m.ledgerAppend,
		m.backendErrors, m.backendRetries, m.verifyFailures,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.checkpoint = newCheckpointMetrics(m.reg)
	return m
}

// Registry returns the registry, for tests and for extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one finished RPC.
func (m *Metrics) ObserveRequest(method, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(method, code).Inc()
	m.latency.WithLabelValues(method, code).Observe(d.Seconds())
}

// Signed counts one signature made by key (a key name) in backend (a URI scheme).
func (m *Metrics) Signed(backend, key string) {
	if m == nil {
		return
	}
	m.signatures.WithLabelValues(backend, key).Inc()
}

// LedgerAppend records how long one entry took to commit (what the
// signing request waited for), and whether it did: "ok", "replay" (the
// idempotency key was already recorded for the same request, nothing new
// was written) or "error".
func (m *Metrics) LedgerAppend(d time.Duration, replayed bool, err error) {
	if m == nil {
		return
	}
	result := "ok"
	switch {
	case err != nil:
		result = "error"
	case replayed:
		result = "replay"
	}
	m.ledgerAppend.WithLabelValues(result).Observe(d.Seconds())
}

// LedgerCommit records one committed ledger transaction: its entries
// (with group commit, one transaction holds the entries of many concurrent
// requests), and whether it was written entry by entry. It fits
// translog.Options.OnCommit.
func (m *Metrics) LedgerCommit(n int, entryByEntry bool) {
	if m == nil {
		return
	}
	m.ledgerBatch.Observe(float64(n))
	if entryByEntry {
		m.ledgerRowByRow.Inc()
	}
}

// BackendError counts a failed backend call; class is a fixed word such as
// "unavailable" (see ErrorClass), never an error text.
func (m *Metrics) BackendError(backend, class string) {
	if m == nil {
		return
	}
	m.backendErrors.WithLabelValues(backend, class).Inc()
}

// BackendRetry counts one retry of a backend call.
func (m *Metrics) BackendRetry(backend string) {
	if m == nil {
		return
	}
	m.backendRetries.WithLabelValues(backend).Inc()
}

// VerifyFailure counts a signature that failed verify-after-sign.
func (m *Metrics) VerifyFailure(backend string) {
	if m == nil {
		return
	}
	m.verifyFailures.WithLabelValues(backend).Inc()
}
