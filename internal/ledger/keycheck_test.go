package ledger_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
)

// addKeyVersion writes key version v of name straight into the keystore's
// tables, in state, as a replica's keystore would have it.
func addKeyVersion(t *testing.T, url, name string, v int32, state string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	now := time.Now().UTC()
	var retired *time.Time
	if state != "active" {
		retired = &now
	}
	if _, err := conn.Exec(t.Context(), `INSERT INTO keys (name, role, created_at, created_by)
		VALUES ($1, 'archive-signing', $2, 'test') ON CONFLICT DO NOTHING`, name, now); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `INSERT INTO key_versions (name, version, backend_uri, public_key, state,
		created_at, activated_at, retired_at, actor) VALUES ($1, $2, 'softkms:path=/k', $3, $4, $5, $5, $6, 'test')`,
		name, v, bytes.Repeat([]byte{byte(v)}, 32), state, now, retired); err != nil {
		t.Fatal(err)
	}
}

func logSize(t *testing.T, s *ledger.Store) int64 {
	t.Helper()
	tree, err := s.Log().Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tree.N
}

// TestRecordRefusesRevokedKeyVersion: a signature made with a key version
// the keystore holds as revoked is refused inside the append transaction,
// with nothing recorded or logged, alone or in a batch of concurrent
// Records whose other rows still commit. Retired versions still record
// (a replica that has not seen a rotation yet).
func TestRecordRefusesRevokedKeyVersion(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	addKeyVersion(t, url, "marketplace-signing", 1, "revoked")
	addKeyVersion(t, url, "marketplace-signing", 2, "retired")
	addKeyVersion(t, url, "marketplace-signing", 3, "active")

	e := entry("com.example.app", "1.0.0", "req-revoked")
	e.KeyVersion = 1
	before := logSize(t, s)
	_, _, err := s.Record(t.Context(), e)
	var rk *ledger.RevokedKeyError
	if !errors.Is(err, ledger.ErrKeyVersionRevoked) || !errors.As(err, &rk) || rk.KeyID != "marketplace-signing" || rk.KeyVersion != 1 {
		t.Fatalf("Record with a revoked version: %v, want a RevokedKeyError naming marketplace-signing v1", err)
	}
	if n := countRows(t, url); n != 0 {
		t.Errorf("%d signatures rows after the refusal, want 0", n)
	}
	if after := logSize(t, s); after != before {
		t.Errorf("log grew from %d to %d leaves on a refused Record", before, after)
	}

	// Concurrent Records share batches (translog group commit): the
	// revoked rows fail, the others commit.
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			e := entry("com.example.app", fmt.Sprintf("2.%d", i), fmt.Sprintf("req-%d", i))
			e.KeyVersion = int32(1 + i%3) // revoked, retired, active
			_, _, errs[i] = s.Record(t.Context(), e)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case i%3 == 0 && !errors.Is(err, ledger.ErrKeyVersionRevoked):
			t.Errorf("record %d (revoked v1): %v, want ErrKeyVersionRevoked", i, err)
		case i%3 != 0 && err != nil:
			t.Errorf("record %d (v%d): %v", i, 1+i%3, err)
		case err == nil:
			ok++
		}
	}
	if got := countRows(t, url); got != ok {
		t.Errorf("%d signatures rows, want the %d accepted", got, ok)
	}
	if after := logSize(t, s); after != before+int64(ok) {
		t.Errorf("log has %d leaves, want %d", after, before+int64(ok))
	}
}

// TestRecordFailsWhenKeyStatesAreUnreadable: when the key versions' states
// cannot be read (here the table is gone, as after a botched restore),
// Record fails naming the cause and records nothing: an unreadable state
// is not an unknown key, which has no state to check.
func TestRecordFailsWhenKeyStatesAreUnreadable(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	addKeyVersion(t, url, "marketplace-signing", 3, "active")
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), `ALTER TABLE key_versions RENAME TO key_versions_lost`); err != nil {
		t.Fatal(err)
	}
	before := logSize(t, s)
	_, _, err = s.Record(t.Context(), entry("com.example.app", "1.0.0", "req-unreadable"))
	if err == nil || !strings.Contains(err.Error(), `"key_versions" does not exist`) || errors.Is(err, ledger.ErrKeyVersionRevoked) {
		t.Fatalf("Record with the key states unreadable: %v; want the failure to read key_versions", err)
	}
	if n := countRows(t, url); n != 0 {
		t.Errorf("%d signatures rows after the failure, want 0", n)
	}
	if after := logSize(t, s); after != before {
		t.Errorf("log grew from %d to %d leaves on a failed Record", before, after)
	}
}
