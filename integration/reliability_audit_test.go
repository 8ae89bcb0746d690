//go:build reliability

package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// auditor is what an auditor keeps outside the database: the ledger key,
// pinned once, and the checkpoints it saved. Every fault test saves a
// checkpoint before its fault and ends with `signerctl ledger verify`
// (the real binary) against it: the tree recomputed from every leaf, the
// saved checkpoint proven a prefix of the latest (no fork, nothing lost
// or rewritten), and every signatures row matched to its leaf.
type auditor struct {
	dir string
	key string // note verifier key
	n   int
}

var ledgerKeyRE = regexp.MustCompile(`(?m)^ledger key: (\S+)$`)

// newAuditor pins the ledger key the signer at addr announces.
func newAuditor(t testing.TB, addr string) *auditor {
	t.Helper()
	out := mustSignerctl(t, "ledger", "checkpoint", "--server", addr)
	m := ledgerKeyRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ledger checkpoint printed no ledger key:\n%s", out)
	}
	return &auditor{dir: t.TempDir(), key: m[1]}
}

// save waits until the signer at addr serves a signed checkpoint covering
// at least every leaf the database at url holds now, saves it to a file
// and returns the file and the checkpoint's tree size.
func (a *auditor) save(t testing.TB, addr, url string) (string, int64) {
	t.Helper()
	a.n++
	path := filepath.Join(a.dir, fmt.Sprintf("checkpoint-%d.txt", a.n))
	size := a.waitCovering(t, addr, logSize(t, url), "--out", path)
	return path, size
}

// verify runs `signerctl ledger verify` with the pinned key against the
// saved checkpoints, once the signer serves a checkpoint covering the whole
// log, and fails the test unless it exits 0. It returns verify's output.
func (a *auditor) verify(t testing.TB, addr, url string, checkpoints ...string) string {
	t.Helper()
	a.waitCovering(t, addr, logSize(t, url))
	r := a.runVerify(t, addr, checkpoints...)
	if r.code != 0 || !strings.Contains(r.stdout, "OK:") {
		t.Fatalf("signerctl ledger verify: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("ledger verify: %s", strings.TrimSpace(r.stdout))
	return r.stdout
}

// runVerify runs `signerctl ledger verify` and returns its result as is.
func (a *auditor) runVerify(t testing.TB, addr string, checkpoints ...string) result {
	t.Helper()
	args := []string{"ledger", "verify", "--server", addr, "--ledger-key", a.key, "--quiet"}
	for _, c := range checkpoints {
		args = append(args, "--checkpoint", c)
	}
	return signerctl(t, args...)
}

// waitCovering polls `signerctl ledger checkpoint` (with extra flags) until
// the checkpoint's tree size is at least want, and returns that size.
func (a *auditor) waitCovering(t testing.TB, addr string, want int64, extra ...string) int64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := signerctl(t, append([]string{"ledger", "checkpoint", "--server", addr, "--ledger-key", a.key}, extra...)...)
		if r.code == 0 {
			if i := strings.Index(r.stdout, "\n\n"); i >= 0 {
				if m := treeSizeRE.FindStringSubmatch(r.stdout[i+2:]); m != nil {
					if n, _ := strconv.ParseInt(m[1], 10, 64); n >= want {
						return n
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %d leaves within 60s; last: exit %d\n%s%s", want, r.code, r.stdout, r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logSize reads the sequenced tree size from the database.
func logSize(t testing.TB, url string) int64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	must(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	var n int64
	must(t, conn.QueryRow(t.Context(), `SELECT tree_size FROM log_head`).Scan(&n))
	return n
}

// checkLogIndexes checks the log's shape in the database: leaves 0..n-1
// with no gap or duplicate (n the head's tree size), and every signature
// row pointing at its own signature leaf, no two at the same index.
func checkLogIndexes(t testing.TB, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	must(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	var size, leaves, distinct, lowest, highest, sigRows, sigIdx, sigLeaves int64
	must(t, conn.QueryRow(t.Context(), `
		SELECT (SELECT tree_size FROM log_head),
		       count(*), count(DISTINCT idx), coalesce(min(idx), 0), coalesce(max(idx), -1),
		       (SELECT count(*) FROM signatures),
		       (SELECT count(DISTINCT log_index) FROM signatures),
		       (SELECT count(*) FROM signatures s JOIN log_leaves l ON l.idx = s.log_index AND l.kind = 'signature')
		FROM log_leaves`).Scan(&size, &leaves, &distinct, &lowest, &highest, &sigRows, &sigIdx, &sigLeaves))
	if leaves != size || distinct != size || lowest != 0 || highest != size-1 {
		t.Fatalf("log: head says %d leaves; table has %d (%d distinct) from %d to %d: a gap or duplicate index", size, leaves, distinct, lowest, highest)
	}
	if sigIdx != sigRows || sigLeaves != sigRows {
		t.Fatalf("signatures: %d rows, %d distinct log indexes, %d on a signature leaf", sigRows, sigIdx, sigLeaves)
	}
}
