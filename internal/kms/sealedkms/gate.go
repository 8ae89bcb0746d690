package sealedkms

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/appsign/signer/internal/kms/awskms/awscall"
)

// gate decides whether a signer may sign now, from the last answer KMS gave
// about its KEK. Only one check runs at a time; callers that arrive during
// a check wait for its verdict.
type gate struct {
	check      func(ctx context.Context) error
	interval   time.Duration // < 0: check before every signature
	staleAfter time.Duration
	clock      func() time.Time
	log        *slog.Logger

	sem chan struct{} // held while a check runs

	mu        sync.Mutex
	lastCheck time.Time
	lastOK    time.Time
	verdict   error // nil: may sign
}

func newGate(check func(context.Context) error, o Options) *gate {
	now := o.Clock()
	return &gate{
		check: check, interval: o.RecheckInterval, staleAfter: o.StaleAfter, clock: o.Clock, log: o.Log,
		sem: make(chan struct{}, 1), lastCheck: now, lastOK: now,
	}
}

// allow returns nil if the signer may sign, re-checking the KEK first when
// the last check is older than the interval.
func (g *gate) allow(ctx context.Context) error {
	if verdict, due := g.state(); !due {
		return verdict
	}
	return g.refresh(ctx, false)
}

func (g *gate) state() (verdict error, due bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.verdict, g.interval < 0 || g.clock().Sub(g.lastCheck) >= g.interval
}

// refresh checks the KEK (unless force is false and another caller has
// just done so) and records the verdict. A check cut short by ctx leaves
// the recorded state alone.
func (g *gate) refresh(ctx context.Context, force bool) error {
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.sem }()
	if verdict, due := g.state(); !force && !due {
		return verdict
	}
	err := g.check(ctx)
	if err != nil && ctx.Err() != nil {
		return err
	}
	now := g.clock()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastCheck = now
	switch {
	case err == nil:
		g.lastOK, g.verdict = now, nil
	case awscall.IsTransient(err) && now.Sub(g.lastOK) < g.staleAfter:
		// KMS is throttling or failing, not refusing: keep the last good
		// verdict for a while rather than stop signing on every blip.
		g.log.Warn("sealedkms: key encryption key check failed, still signing",
			"last_confirmed_ago", now.Sub(g.lastOK).Round(time.Second), "error", err.Error())
		g.verdict = nil
	default:
		g.verdict = err
	}
	return g.verdict
}
