package translog

import (
	"context"
	"fmt"
)

// AppendGroupAll appends one leaf per value, each as AppendGroup would
// (g prepares them, fallbacks[i] makes value i's payload alone when the
// batch runs entry by entry), and puts them all in the same batch
// transaction, in order, with consecutive indexes: they commit together or
// not at all. It is the ledger's path for a signing batch, so one batch is
// one transaction however many other appends are queued. The batch may
// hold other appends too, and may exceed Options.MaxBatch by the bundle's
// size.
//
// It returns one outcome per value: where its leaf went, or its own error
// (a fallback that failed fails its entry alone, as in AppendGroup). An
// error of the whole transaction is every entry's error. When ctx ends
// while the transaction commits, the entries not yet answered get ctx's
// error and may or may not be in the log, as with Append.
func (l *Log) AppendGroupAll(ctx context.Context, kind string, g Group, values []any, fallbacks []TxFunc) ([]Appended, []error) {
	n := len(values)
	appended, errs := make([]Appended, n), make([]error, n)
	failAll := func(err error) ([]Appended, []error) {
		for i := range errs {
			errs[i] = fmt.Errorf("translog: append: %w", err)
		}
		return appended, errs
	}
	switch {
	case n == 0:
		return appended, errs
	case g == nil || len(fallbacks) != n:
		return failAll(fmt.Errorf("%d values, %d fallbacks, group %v", n, len(fallbacks), g))
	case !ValidKind(kind):
		return failAll(fmt.Errorf("kind %q: %w", kind, ErrInvalidKind))
	}
	reqs := make([]*request, n)
	for i := range values {
		if fallbacks[i] == nil {
			return failAll(fmt.Errorf("nil fallback for value %d", i))
		}
		reqs[i] = &request{ctx: ctx, kind: kind, fn: fallbacks[i], group: g, value: values[i], result: make(chan outcome, 1)}
	}
	lead := reqs[0]
	lead.bundle = reqs[1:]
	select {
	case l.queue <- lead:
	case <-l.stop:
		return failAll(ErrClosed)
	case <-ctx.Done():
		return failAll(ctx.Err())
	}
	for i, r := range reqs {
		select {
		case o := <-r.result:
			appended[i], errs[i] = o.appended, o.err
		case <-l.done:
			// The sequencer delivers before it exits: a result may be waiting.
			select {
			case o := <-r.result:
				appended[i], errs[i] = o.appended, o.err
			default:
				errs[i] = fmt.Errorf("translog: append: %w", ErrClosed)
			}
		case <-ctx.Done():
			errs[i] = fmt.Errorf("translog: append: %w", ctx.Err())
		}
	}
	return appended, errs
}
