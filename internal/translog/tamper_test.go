package translog_test

import (
	"testing"

	"github.com/appsign/signer/internal/translog"
)

// TestTamperDetected tampers with the tables as a database superuser can
// (triggers disabled), then verifies what the API would serve — entries and
// the signed checkpoint history — as signerctl would, and checks Verify
// names the index.
func TestTamperDetected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(t *testing.T, tm *tamperer)
		want   string
	}{
		{
			name:   "nothing",
			tamper: func(*testing.T, *tamperer) {},
			want:   "",
		},
		{
			name:   "payload column of leaf 5 updated",
			tamper: func(t *testing.T, tm *tamperer) { tm.exec(t, `UPDATE log_leaves SET payload = 'forged' WHERE idx = 5`) },
			want:   want(p(translog.ProblemModified, 5, 6)),
		},
		{
			name:   "leaf 5 updated with leaf and leaf_hash recomputed",
			tamper: func(t *testing.T, tm *tamperer) { tm.setPayload(t, 5, []byte("forged")) },
			want:   want(p(translog.ProblemModified, 5, 6)),
		},
		{
			name: "timestamp of leaf 25 updated",
			tamper: func(t *testing.T, tm *tamperer) {
				tm.exec(t, `UPDATE log_leaves SET appended_at = appended_at + interval '1 day' WHERE idx = 25`)
			},
			want: want(p(translog.ProblemModified, 25, 26)),
		},
		{
			name:   "row 7 deleted",
			tamper: func(t *testing.T, tm *tamperer) { tm.exec(t, `DELETE FROM log_leaves WHERE idx = 7`) },
			want:   want(p(translog.ProblemMissing, 7, 8)),
		},
		{
			name: "row 7 and its stored hash deleted",
			tamper: func(t *testing.T, tm *tamperer) {
				tm.exec(t, `DELETE FROM log_leaves WHERE idx = 7`)
				tm.exec(t, `DELETE FROM log_hashes WHERE id = 11`) // tlog.StoredHashIndex(0, 7)
			},
			want: want(p(translog.ProblemMissing, 7, 8)),
		},
		{
			name: "payloads of rows 3 and 12 swapped",
			tamper: func(t *testing.T, tm *tamperer) {
				tm.exec(t, `UPDATE log_leaves AS a SET payload = b.payload, leaf = b.leaf, leaf_hash = b.leaf_hash
					FROM log_leaves AS b WHERE (a.idx, b.idx) IN ((3, 12), (12, 3))`)
			},
			want: want(p(translog.ProblemModified, 3, 4), p(translog.ProblemModified, 12, 13)),
		},
		{
			name: "forged row inserted after the last",
			tamper: func(t *testing.T, tm *tamperer) {
				tm.exec(t, `INSERT INTO log_leaves (idx, kind, payload, leaf, leaf_hash, appended_at)
					SELECT 30, kind, 'forged', leaf, leaf_hash, appended_at FROM log_leaves WHERE idx = 29`)
			},
			want: want(p(translog.ProblemExtra, 30, 31)),
		},
		{
			name: "forged row inserted in place of deleted row 8",
			tamper: func(t *testing.T, tm *tamperer) {
				tm.exec(t, `DELETE FROM log_leaves WHERE idx = 8`)
				tm.exec(t, `INSERT INTO log_leaves (idx, kind, payload, leaf, leaf_hash, appended_at)
					VALUES (8, 'admin', 'forged', '', sha256(''::bytea), now())`)
			},
			want: want(p(translog.ProblemModified, 8, 9)),
		},
		{
			name:   "leaf 15 changed and the whole stored tree rewritten to match",
			tamper: func(t *testing.T, tm *tamperer) { tm.rewriteTree(t, 15, []byte("forged")) },
			// The stored hashes no longer prove anything; the checkpoints
			// at 10 and 20 bound the change.
			want: want(p(translog.ProblemHashes, 10, 20), p(translog.ProblemRange, 10, 20)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := newMemSigner("ledger")
			l, conn := newLog(t, translog.Options{Signer: key})
			ctx := t.Context()
			for range 3 {
				appendN(t, l, 10)
				if _, err := l.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			}

			tt.tamper(t, &tamperer{conn: conn})

			// What signerctl gets from the API: the checkpoint history and
			// every entry, past the signed size too.
			cps, err := l.Checkpoints(ctx, 0, 100)
			if err != nil || len(cps) != 3 {
				t.Fatalf("Checkpoints = %d, %v", len(cps), err)
			}
			opts := translog.VerifyOptions{Origin: testOrigin, Verifiers: key.verifiers(t), Checkpoint: cps[2].Note}
			for _, cp := range cps[:2] {
				opts.Older = append(opts.Older, cp.Note)
			}
			rep := translog.Verify(l.Entries(ctx, 0, 1<<40), opts)
			if rep.Err != nil {
				t.Fatalf("Verify: %v", rep.Err)
			}
			if got := problems(rep.Problems); got != tt.want {
				t.Errorf("problems:\n got %s\nwant %s", got, tt.want)
			}
			for _, p := range rep.Problems {
				t.Log(p)
			}
			if rep.OK() != (tt.want == "") {
				t.Errorf("OK = %v", rep.OK())
			}
		})
	}
}
