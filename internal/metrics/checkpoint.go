package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appsign/signer/internal/translog"
)

// Reasons a checkpoint is refused, the values of the reason label.
const (
	// RefusedDiverged: the stored log does not extend the checkpoint
	// published outside the database (cut back, rewritten, or a failover
	// to a standby that lost transactions).
	RefusedDiverged = "diverged"
	// RefusedCorrupt: the stored log contradicts itself or its stored
	// checkpoints.
	RefusedCorrupt = "corrupt"
	// RefusedPublish: the published checkpoints cannot be read or written.
	RefusedPublish = "publish"
)

var refusalReasons = []string{RefusedDiverged, RefusedCorrupt, RefusedPublish}

// checkpointMetrics follow the ledger's checkpoint signing.
type checkpointMetrics struct {
	refused *prometheus.GaugeVec
	errors  *prometheus.CounterVec
	size    prometheus.Gauge
	witness *prometheus.CounterVec
}

func newCheckpointMetrics(reg prometheus.Registerer) *checkpointMetrics {
	c := &checkpointMetrics{
		refused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "ledger_checkpoint_refused",
			Help: "1 while the ledger refuses to sign checkpoints, by reason: diverged (the log does not extend the checkpoint published outside the database), corrupt, publish (the published checkpoints are unreachable). Alert on any 1.",
		}, []string{"reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "ledger_checkpoint_errors_total",
			Help: "Checkpoint attempts that failed, by reason (diverged, corrupt, publish, other).",
		}, []string{"reason"}),
		size: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "ledger_checkpoint_size",
			Help: "Tree size of the latest checkpoint signed (and published, when a checkpoint directory is configured).",
		}),
		witness: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "ledger_witness_requests_total",
			Help: "Checkpoints sent to C2SP tlog-witness witnesses, by witness name and result (ok, error). A refusal as inconsistent also raises signer_ledger_checkpoint_refused{reason=\"diverged\"}.",
		}, []string{"witness", "result"}),
	}
	for _, r := range refusalReasons {
		c.refused.WithLabelValues(r).Set(0)
	}
	reg.MustRegister(c.refused, c.errors, c.size, c.witness)
	return c
}

// LedgerCheckpoint records one checkpoint attempt: the size signed, or
// why it failed. A refusal raises signer_ledger_checkpoint_refused until
// an attempt succeeds. It fits translog.Options.OnCheckpoint.
func (m *Metrics) LedgerCheckpoint(size int64, err error) {
	if m == nil {
		return
	}
	c := m.checkpoint
	if err == nil {
		c.size.Set(float64(size))
		for _, r := range refusalReasons {
			c.refused.WithLabelValues(r).Set(0)
		}
		return
	}
	reason := CheckpointErrorReason(err)
	c.errors.WithLabelValues(reason).Inc()
	if translog.Refused(err) {
		for _, r := range refusalReasons {
			v := 0.0
			if r == reason {
				v = 1
			}
			c.refused.WithLabelValues(r).Set(v)
		}
	}
}

// CheckpointErrorReason names why a checkpoint attempt failed with a fixed
// word, for a metric label.
func CheckpointErrorReason(err error) string {
	switch {
	case errors.Is(err, translog.ErrDiverged):
		return RefusedDiverged
	case errors.Is(err, translog.ErrPublish):
		return RefusedPublish
	case errors.Is(err, translog.ErrCorrupt):
		return RefusedCorrupt
	}
	return "other"
}

// LedgerWitness records a witness's answer to one checkpoint: witness is
// its name, err nil when it cosigned.
func (m *Metrics) LedgerWitness(witness string, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.checkpoint.witness.WithLabelValues(witness, result).Inc()
}
