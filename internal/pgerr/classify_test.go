package pgerr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appsign/signer/internal/pgerr"
)

// closedAddr returns a loopback address nothing listens on any more.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// hangUpAddr returns the address of a listener that accepts and at once
// closes every connection, as a server dying under its clients does.
func hangUpAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

func TestClassify(t *testing.T) {
	ctx := t.Context()
	_, refused := net.Dial("tcp", closedAddr(t))
	_, connRefused := pgconn.Connect(ctx, "postgres://u@"+closedAddr(t)+"/db?sslmode=disable&connect_timeout=5")
	_, connHungUp := pgconn.Connect(ctx, "postgres://u@"+hangUpAddr(t)+"/db?sslmode=disable&connect_timeout=5")
	_, dnsErr := net.DefaultResolver.LookupHost(ctx, "no-such-host.invalid")
	if refused == nil || connRefused == nil || connHungUp == nil || dnsErr == nil {
		t.Fatalf("network errors expected: dial %v, connect %v, hang-up %v, dns %v", refused, connRefused, connHungUp, dnsErr)
	}
	expired, cancel := context.WithDeadline(ctx, time.Unix(0, 0))
	defer cancel()
	_, connDeadline := pgconn.Connect(expired, "postgres://u@"+hangUpAddr(t)+"/db?sslmode=disable")
	if connDeadline == nil {
		t.Fatal("connect with an expired context succeeded")
	}
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Severity: "FATAL", Code: code}) }

	tests := []struct {
		name string
		err  error
		want pgerr.Class
	}{
		{"nil", nil, pgerr.Other},
		{"plain error", errors.New("bad payload"), pgerr.Other},
		{"dial refused", refused, pgerr.Unavailable},
		{"connect refused", connRefused, pgerr.Unavailable},
		{"server hangs up during connect", connHungUp, pgerr.Unavailable},
		{"host does not resolve", dnsErr, pgerr.Unavailable},
		{"conn closed by pgx", fmt.Errorf("commit: %w", pgconn.ErrConnClosed), pgerr.Unavailable},
		{"EOF mid-read", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), pgerr.Unavailable},
		{"EOF", io.EOF, pgerr.Unavailable},
		{"08006 connection_failure", pg("08006"), pgerr.Unavailable},
		{"08001 unable to connect", pg("08001"), pgerr.Unavailable},
		{"57P01 admin_shutdown", pg("57P01"), pgerr.Unavailable},
		{"57P02 crash_shutdown", pg("57P02"), pgerr.Unavailable},
		{"57P03 cannot_connect_now", pg("57P03"), pgerr.Unavailable},
		{"57P05 idle_session_timeout", pg("57P05"), pgerr.Unavailable},
		{"53300 too_many_connections", pg("53300"), pgerr.Unavailable},
		{"25006 read_only_sql_transaction", pg("25006"), pgerr.Unavailable},
		{"57P04 database_dropped", pg("57P04"), pgerr.Other},
		{"57014 query_canceled", pg("57014"), pgerr.Other},
		{"23505 unique_violation", pg("23505"), pgerr.UniqueViolation},
		{"23503 foreign_key_violation", pg("23503"), pgerr.Other},
		{"40001 serialization_failure", pg("40001"), pgerr.Conflict},
		{"40P01 deadlock_detected", pg("40P01"), pgerr.Conflict},
		{"no rows", pgx.ErrNoRows, pgerr.Other},
		{"caller cancelled", context.Canceled, pgerr.Other},
		{"caller deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), pgerr.Other},
		{"caller deadline while connecting", connDeadline, pgerr.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pgerr.Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
			if got := pgerr.IsUnavailable(tt.err); got != (tt.want == pgerr.Unavailable) {
				t.Errorf("IsUnavailable(%v) = %v", tt.err, got)
			}
		})
	}
}

var errStoreUnavailable = errors.New("store: database unavailable")

func TestWrap(t *testing.T) {
	cause := &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}
	err := pgerr.Wrap(errStoreUnavailable, "store: get 7", cause)
	var pgErr *pgconn.PgError
	if !errors.Is(err, errStoreUnavailable) || !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
		t.Errorf("Wrap(57P01) = %v: want the store's sentinel and the cause", err)
	}
	if got, want := err.Error(), "store: get 7: store: database unavailable: FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"; got != want {
		t.Errorf("Wrap(57P01).Error() = %q, want %q", got, want)
	}
	err = pgerr.Wrap(errStoreUnavailable, "store: insert", &pgconn.PgError{Code: "23505"})
	if errors.Is(err, errStoreUnavailable) || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Errorf("Wrap(23505) = %v: want the cause without the unavailable sentinel", err)
	}
	if err := pgerr.Wrap(errStoreUnavailable, "store: x", nil); err != nil {
		t.Errorf("Wrap(nil) = %v, want nil", err)
	}
}
