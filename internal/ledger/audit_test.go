package ledger

import (
	"crypto/ed25519"
	"fmt"
	"iter"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appsign/signer/internal/translog"
)

// auditFixture is n digest-v1 entries signed by key, each logged at index
// 2*i+1 (the even indexes hold other kinds of leaves).
func auditFixture(t *testing.T, n int) (rows []Entry, leaves [][]byte, key ed25519.PrivateKey) {
	t.Helper()
	key = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	at := time.Date(2026, 12, 4, 9, 0, 0, 123456000, time.UTC)
	for i := range n {
		stmt := fmt.Appendf(nil, "statement %d", i)
		e := Entry{
			ID: int64(10 + i), AppKey: fmt.Sprintf("com.example.app%d", i%3), Version: "1.0." + fmt.Sprint(i), Track: TrackMarketplace,
			ArchiveSize: 1024, SHA256: make([]byte, 32), SHA512: make([]byte, 64), KeyID: "k", KeyVersion: 1,
			CertSerial: "0a", Signature: ed25519.Sign(key, stmt), Caller: "pipeline", ReviewRef: "r", IdempotencyKey: fmt.Sprint("idem", i),
			SignedAt: at.Add(time.Duration(i) * time.Second), Profile: ProfileDigestV1, Statement: stmt, LogIndex: int64(2*i + 1),
		}
		rows = append(rows, e)
		leaves = append(leaves, translog.EncodeLeaf(translog.KindKey, []byte(`{"other":"kind"}`), at))
		leaves = append(leaves, translog.EncodeLeaf(translog.KindSignature, EncodeSignature(e), at))
	}
	return rows, leaves, key
}

// rowSeq serves rows as the signatures table would, without errors.
func rowSeq(rows []Entry) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func runAudit(rows []Entry, leaves [][]byte, keys map[KeyRef]ed25519.PublicKey) *Audit {
	a := NewAudit(rowSeq(rows))
	a.Keys = keys
	a.Size = int64(len(leaves))
	for i, l := range leaves {
		a.Leaf(int64(i), l)
	}
	if err := a.Finish(int64(len(leaves))); err != nil {
		panic(err)
	}
	return a
}

// TestAuditFindsEveryChange: an untouched ledger has no findings and every
// signature is checked; each change behind the service's back is named by
// leaf and entry, whether the row still encodes to a leaf or not.
func TestAuditFindsEveryChange(t *testing.T) {
	const n = 600 // more than one batch of rows read ahead
	rows, leaves, key := auditFixture(t, n)
	keys := map[KeyRef]ed25519.PublicKey{{"k", 1}: key.Public().(ed25519.PublicKey)}

	a := runAudit(rows, leaves, keys)
	if len(a.Findings) != 0 || a.Signatures != n || a.Checked != n {
		t.Fatalf("clean ledger: findings %v, %d signatures, %d checked; want none, %d, %d", a.Findings, a.Signatures, a.Checked, n, n)
	}

	edit := func(f func(rows []Entry) []Entry) []Entry {
		return f(append([]Entry(nil), rows...))
	}
	forged := ed25519.Sign(key, []byte("another statement"))
	tests := []struct {
		name string
		rows []Entry
		want []string // substrings of the findings, in order
	}{
		{"field changed", edit(func(r []Entry) []Entry { r[5].AppKey = "com.evil"; return r }),
			[]string{"leaf 11 (entry 15): app_key differ"}},
		{"row deleted", edit(func(r []Entry) []Entry { return append(r[:7], r[8:]...) }),
			[]string{"leaf 15 (entry 17): the ledger has no entry 17 (deleted)"}},
		{"row inserted", edit(func(r []Entry) []Entry {
			x := r[3]
			x.ID, x.LogIndex = 1000, NotLogged
			return append(r, x)
		}), []string{"entry 1000: no log leaf records it"}},
		{"row inserted naming another entry's leaf", edit(func(r []Entry) []Entry {
			x := r[3]
			x.ID, x.LogIndex = 1000, 1
			return append(r, x)
		}), []string{"leaf 1 (entry 1000): names leaf 1, which does not record it"}},
		{"row names another leaf", edit(func(r []Entry) []Entry { r[2].LogIndex = 99; return r }),
			[]string{"leaf 5 (entry 12): the entry names leaf 99, not this one"}},
		{"signature replaced in row and leaf", nil, []string{"leaf 41 (entry 30): the Ed25519 signature does not verify"}},
		{"unknown key version", edit(func(r []Entry) []Entry { r[0].KeyVersion = 2; return r }),
			[]string{"leaf 1 (entry 10): key_version differ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, ls := tt.rows, leaves
			if rs == nil { // a consistent forgery: the row and its leaf agree, the signature does not verify
				rs = edit(func(r []Entry) []Entry { r[20].Signature = forged; return r })
				ls = append([][]byte(nil), leaves...)
				ls[41] = translog.EncodeLeaf(translog.KindSignature, EncodeSignature(rs[20]), time.Now())
			}
			a := runAudit(rs, ls, keys)
			var got []string
			for _, f := range a.Findings {
				got = append(got, f.String())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("findings %q; want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("finding %d = %q; want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestAuditStopsReadingAhead: a row error ends the audit with that error.
// Rows are read up to the first error only: the source here would go on
// forever after it, so an audit that read past it would never finish (the
// test's timeout). And no goroutine of the audit outlives it: in a
// synctest bubble, one left blocked when the test function returns fails
// the test, exactly and without a timed wait (this replaced a 5 s poll of
// runtime.NumGoroutine).
func TestAuditStopsReadingAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rows, leaves, _ := auditFixture(t, 10)
		var read atomic.Int64
		failing := iter.Seq2[Entry, error](func(yield func(Entry, error) bool) {
			if !yield(rows[0], nil) || !yield(Entry{}, fmt.Errorf("connection lost")) {
				return
			}
			for i := 0; ; i++ { // a source that does not stop at its error
				read.Add(1)
				if !yield(rows[i%len(rows)], nil) {
					return
				}
			}
		})
		a := NewAudit(failing)
		a.Size = int64(len(leaves))
		for i, l := range leaves {
			a.Leaf(int64(i), l)
		}
		if err := a.Finish(int64(len(leaves))); err == nil || !strings.Contains(err.Error(), "connection lost") {
			t.Errorf("Finish = %v; want the row stream's error", err)
		}
		synctest.Wait()
		if n := read.Load(); n > 10*256 {
			t.Errorf("%d rows read past the error: reading ahead is not bounded", n)
		}
	})
}
