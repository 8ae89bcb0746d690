package translog

import (
	"context"
	"time"
)

// Defaults for the zero values of PublishOptions.
const (
	DefaultPublishInterval = 10 * time.Second
	DefaultPublishDelay    = 250 * time.Millisecond
)

// PublishOptions paces Publish.
type PublishOptions struct {
	// Interval is how often a checkpoint is attempted whatever happened,
	// which also covers appends made by other replicas; 0 means
	// DefaultPublishInterval.
	Interval time.Duration
	// Delay is how long after a batch committed by this Log a checkpoint
	// follows. Batches committed in the meantime share it, and it is not
	// pushed back by them, so a busy log still gets a checkpoint every
	// Delay. 0 means DefaultPublishDelay.
	Delay time.Duration
}

// Publish signs checkpoints until ctx ends or the Log is closed: Delay after
// this Log's appends, and every Interval. Errors are logged to
// Options.Logger and retried at the next occasion; an ErrCorrupt is logged
// at error level on every attempt, since the log will not be signed again
// until an operator intervenes. Run one Publish per Log. It returns nil.
func (l *Log) Publish(ctx context.Context, po PublishOptions) error {
	if po.Interval <= 0 {
		po.Interval = DefaultPublishInterval
	}
	if po.Delay <= 0 {
		po.Delay = DefaultPublishDelay
	}
	ticker := time.NewTicker(po.Interval)
	defer ticker.Stop()
	var (
		delay   *time.Timer
		delayed <-chan time.Time
	)
	defer func() {
		if delay != nil {
			delay.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.stop:
			return nil
		case <-l.appended:
			if delayed == nil {
				delay = time.NewTimer(po.Delay)
				delayed = delay.C
			}
			continue
		case <-delayed:
			delay, delayed = nil, nil
		case <-ticker.C:
		}
		if _, err := l.Checkpoint(ctx); err != nil && ctx.Err() == nil {
			l.opts.Logger.ErrorContext(ctx, "translog: checkpoint failed", "origin", l.opts.Origin, "err", err)
		}
	}
}
