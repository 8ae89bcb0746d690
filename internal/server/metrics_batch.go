package server

import (
	"context"
	"time"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/metrics"
)

// batchLedgerOf returns l's BatchLedger capability, looking through the
// metrics wrapper (whose batch writes are timed like Record's).
func batchLedgerOf(l Ledger) (BatchLedger, bool) {
	switch v := l.(type) {
	case meteredLedger:
		inner, ok := batchLedgerOf(v.Ledger)
		if !ok {
			return nil, false
		}
		return meteredBatchLedger{BatchLedger: inner, m: v.m}, true
	case BatchLedger:
		return v, true
	}
	return nil, false
}

// meteredBatchLedger times RecordBatch: each item's append takes the
// batch's time, as concurrent Records share one commit's.
type meteredBatchLedger struct {
	BatchLedger
	m *metrics.Metrics
}

// RecordBatch implements BatchLedger.
func (l meteredBatchLedger) RecordBatch(ctx context.Context, entries []ledger.Entry) []ledger.RecordResult {
	start := time.Now()
	out := l.BatchLedger.RecordBatch(ctx, entries)
	d := time.Since(start)
	for _, r := range out {
		l.m.LedgerAppend(d, r.Replayed, r.Err)
	}
	return out
}

// SignMessages implements kms.BatchSigner: one signature counted per
// message signed, one backend error per item that failed.
func (s *signerMeter) SignMessages(ctx context.Context, msgs [][]byte) ([][]byte, []error) {
	sigs, errs := kms.SignMessages(ctx, s.Signer, msgs)
	for _, err := range errs {
		s.observe(err)
	}
	return sigs, errs
}
