package keystore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultWatchInterval is Watch's polling interval when given none.
const DefaultWatchInterval = 30 * time.Second

// Watch keeps the Store's loaded keys up to date with changes other
// replicas make, until ctx is done or the Store is closed. Every change notifies a PostgreSQL
// channel when it commits; Watch listens on a connection of its own (from
// the pool's configuration) and calls Refresh on each notification, and
// also every interval, which covers notifications missed while
// reconnecting. Errors are logged through Options.Log. Run it in its own
// goroutine.
func (s *Store) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	for ctx.Err() == nil {
		err := s.listen(ctx, interval)
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		s.opts.Log.WarnContext(ctx, "keystore: watch: lost the notification connection; polling until it is back",
			"interval", interval, "error", err.Error())
		s.refreshLogged(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// listen runs one LISTEN connection until it fails or ctx is done.
func (s *Store) listen(ctx context.Context, interval time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return wrap("watch: connect", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return wrap("watch: listen", err)
	}
	// Changes committed before LISTEN took effect sent no notification here.
	s.refreshLogged(ctx)
	for {
		wctx, cancel := context.WithTimeout(ctx, interval)
		_, err := conn.WaitForNotification(wctx)
		timedOut := wctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !timedOut:
			return wrap("watch: wait for notification", err)
		case err != nil && conn.IsClosed():
			return wrap("watch: connection closed while waiting", err)
		}
		if errors.Is(s.refreshLogged(ctx), ErrClosed) {
			return ErrClosed
		}
	}
}

func (s *Store) refreshLogged(ctx context.Context) error {
	err := s.Refresh(ctx)
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
		s.opts.Log.WarnContext(ctx, "keystore: watch: refresh failed", "error", err.Error())
	}
	return err
}

// Poll is Watch without notifications: it calls Refresh every interval
// until ctx is done or the Store is closed, for deployments whose
// database connections cannot LISTEN (a transaction-pooling proxy). A
// revoked version then keeps being offered until the next poll, and
// ledger.Store.Record refuses its signatures meanwhile.
func (s *Store) Poll(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if errors.Is(s.refreshLogged(ctx), ErrClosed) {
			return
		}
	}
}
