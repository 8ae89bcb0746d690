package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// stats are one caller's results.
type stats struct {
	mu        sync.Mutex
	latencies []time.Duration
	sigs      int64
	bytes     int64
	errors    map[string]int
}

func (s *stats) add(d time.Duration, sigs int, bytes int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies = append(s.latencies, d)
	if err != nil {
		if s.errors == nil {
			s.errors = map[string]int{}
		}
		s.errors[status.Code(err).String()]++
	}
	s.sigs += int64(sigs)
	if err == nil {
		s.bytes += bytes
	}
}

func merge(all []*stats) *stats {
	out := &stats{errors: map[string]int{}}
	for _, s := range all {
		out.latencies = append(out.latencies, s.latencies...)
		out.sigs += s.sigs
		out.bytes += s.bytes
		for k, v := range s.errors {
			out.errors[k] += v
		}
	}
	slices.Sort(out.latencies)
	return out
}

func codeOf(c int32) codes.Code { return codes.Code(uint32(c)) }

// Report is the result of a run, as --format json prints it.
type Report struct {
	Mode          string         `json:"mode"`
	Size          int64          `json:"size_bytes,omitempty"`
	BatchSize     int            `json:"batch_size,omitempty"`
	Concurrency   int            `json:"concurrency"`
	Seconds       float64        `json:"seconds"`
	Requests      int            `json:"requests"`
	Signatures    int64          `json:"signatures"`
	SigsPerSecond float64        `json:"signatures_per_second"`
	MBPerSecond   float64        `json:"mb_per_second,omitempty"`
	P50ms         float64        `json:"p50_ms"`
	P99ms         float64        `json:"p99_ms"`
	Maxms         float64        `json:"max_ms"`
	Errors        map[string]int `json:"errors,omitempty"`
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(w io.Writer, o options, s *stats, elapsed time.Duration) error {
	r := Report{
		Mode: o.mode, Concurrency: o.concurrency, Seconds: elapsed.Seconds(),
		Requests: len(s.latencies), Signatures: s.sigs,
		SigsPerSecond: float64(s.sigs) / elapsed.Seconds(),
		P50ms:         ms(percentile(s.latencies, .50)),
		P99ms:         ms(percentile(s.latencies, .99)),
		Maxms:         ms(percentile(s.latencies, 1)),
		Errors:        s.errors,
	}
	switch o.mode {
	case "archive":
		r.Size = o.size
		r.MBPerSecond = float64(s.bytes) / 1e6 / elapsed.Seconds()
	case "batch":
		r.BatchSize = o.batchSize
	}
	if len(r.Errors) == 0 {
		r.Errors = nil
	}
	if o.format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "mode=%s size=%d batch=%d concurrency=%d seconds=%.1f requests=%d signatures=%d\n",
		r.Mode, r.Size, r.BatchSize, r.Concurrency, r.Seconds, r.Requests, r.Signatures)
	fmt.Fprintf(w, "signatures/s=%.0f MB/s=%.1f p50=%.2fms p99=%.2fms max=%.2fms\n", r.SigsPerSecond, r.MBPerSecond, r.P50ms, r.P99ms, r.Maxms)
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "errors %s=%d\n", k, r.Errors[k])
		}
	}
	return nil
}
