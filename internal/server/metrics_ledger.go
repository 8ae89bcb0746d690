package server

import (
	"context"
	"time"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/metrics"
)

// meteredLedger times ledger writes as the signing path sees them. The
// batch size of a commit is recorded where the commit happens
// (translog.Options.OnCommit → metrics.LedgerCommit), which this wrapper
// cannot see.
type meteredLedger struct {
	Ledger
	m *metrics.Metrics
}

// Record implements Ledger.
func (l meteredLedger) Record(ctx context.Context, e ledger.Entry) (ledger.Entry, bool, error) {
	start := time.Now()
	out, replayed, err := l.Ledger.Record(ctx, e)
	l.m.LedgerAppend(time.Since(start), replayed, err)
	return out, replayed, err
}
