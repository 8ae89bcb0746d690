package translog

import (
	"context"
	"fmt"
	"time"
)

// sequence is the Log's one sequencer goroutine: it takes queued appends in
// batches and commits each batch in one transaction. While a batch
// commits, the next one queues up, so batches grow with the load and a
// commit's cost is shared by all of its entries (group commit).
func (l *Log) sequence() {
	defer close(l.done)
	for {
		var first *request
		select {
		case first = <-l.queue:
		case <-l.stop:
			l.drain()
			return
		}
		batch := l.gather(first)
		if len(batch) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(l.base, l.opts.BatchTimeout)
		batch, outcomes, err := l.commit(ctx, batch)
		cancel()
		if err != nil {
			for _, r := range batch {
				r.result <- outcome{err: err}
			}
			continue
		}
		for i, r := range batch {
			r.result <- outcomes[i]
		}
		select {
		case l.appended <- struct{}{}:
		default:
		}
	}
}

// gather returns first and whatever else is queued, up to MaxBatch,
// waiting up to BatchDelay for more.
func (l *Log) gather(first *request) []*request {
	batch := l.admit(make([]*request, 0, min(l.opts.MaxBatch, 1+len(l.queue))), first)
	var deadline <-chan time.Time
	if l.opts.BatchDelay > 0 {
		t := time.NewTimer(l.opts.BatchDelay)
		defer t.Stop()
		deadline = t.C
	}
	for batch = l.topUp(batch); len(batch) < l.opts.MaxBatch && deadline != nil; batch = l.topUp(batch) {
		select {
		case r := <-l.queue:
			batch = l.admit(batch, r)
		case <-deadline:
			return batch
		case <-l.stop:
			return batch
		}
	}
	return batch
}

// topUp adds what is queued to batch, up to MaxBatch, without waiting. The
// sequencer calls it again once it holds the lock: appends that queued
// while it waited for another replica's batch join this one.
func (l *Log) topUp(batch []*request) []*request {
	for len(batch) < l.opts.MaxBatch {
		select {
		case r := <-l.queue:
			batch = l.admit(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// admit adds r and its bundle to batch, unless its caller has given up:
// those are answered and left out.
func (l *Log) admit(batch []*request, r *request) []*request {
	if err := r.ctx.Err(); err != nil {
		r.result <- outcome{err: fmt.Errorf("translog: append: %w", err)}
		for _, b := range r.bundle {
			b.result <- outcome{err: fmt.Errorf("translog: append: %w", err)}
		}
		return batch
	}
	return append(append(batch, r), r.bundle...)
}

// drain answers every append still queued once the Log is closing.
func (l *Log) drain() {
	for {
		select {
		case r := <-l.queue:
			r.result <- outcome{err: fmt.Errorf("translog: append: %w", ErrClosed)}
			for _, b := range r.bundle {
				b.result <- outcome{err: fmt.Errorf("translog: append: %w", ErrClosed)}
			}
		default:
			return
		}
	}
}
