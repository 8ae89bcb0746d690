package ledger_test

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

var v0 = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

// allowlistFixture is a ledger whose keystore holds app-signing v1 and v2,
// each with a certificate, written as rows without key leaves: the log
// holds only what a test appends.
type allowlistFixture struct {
	s    *ledger.Store
	revs *revocationstore.Store
}

func newAllowlistFixture(t *testing.T) *allowlistFixture {
	t.Helper()
	s, _ := newStore(t)
	dba(t, s, `INSERT INTO keys (name, role, created_at, created_by) VALUES ('app-signing', 'archive-signing', $1, 'test')`, v0)
	for v := int32(1); v <= 2; v++ {
		c := selfSigned(t, int64(100+v), "app-signing")
		state, retired := "retired", any(v0)
		if v == 2 {
			state, retired = "active", nil
		}
		dba(t, s, `INSERT INTO key_versions (name, version, backend_uri, public_key, certificate, state, created_at, activated_at, retired_at, actor)
			VALUES ('app-signing', $1, 'softkms:path=/k', $2, $3, $4, $5, $5, $6, 'test')`, v, bytes.Repeat([]byte{byte(v)}, 32), c.Raw, state, v0, retired)
	}
	return &allowlistFixture{s: s, revs: revocationstore.New(s.Pool(), s.RevocationStoreOptions(nil))}
}

// sign records a signature over archive by app-signing version v, made at at.
func (f *allowlistFixture) sign(t *testing.T, archive string, v int32, at time.Time) ledger.Entry {
	t.Helper()
	e := entry("com.example.app", archive, "req-"+archive)
	e.KeyID, e.KeyVersion, e.SignedAt = "app-signing", v, at
	e.Signature = bytes.Repeat([]byte{byte(len(archive))}, 64)
	stored, _, err := f.s.Record(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// revokeV1 revokes the key of app-signing v1 from from.
func (f *allowlistFixture) revokeV1(t *testing.T, from time.Time) revocationstore.Revocation {
	t.Helper()
	r, _, _, err := f.revs.RevokeKey(t.Context(), strings.Repeat("a1", 32), "CN=app-signing", from, revocation.ReasonKeyCompromise, "alice", version1)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func version1(c revocationstore.SignedCert) bool {
	return c.KeyID == "app-signing" && c.KeyVersion == 1
}

// allowed returns the entry ids SignaturesBefore keeps valid for r, and
// fails the test unless the answer is exact.
func (f *allowlistFixture) allowed(t *testing.T, r revocationstore.Revocation) []ledger.Entry {
	t.Helper()
	sigs, complete, err := f.revs.SignaturesBefore(t.Context(), r, version1)
	if err != nil || !complete {
		t.Fatalf("SignaturesBefore = %v, complete %v; want an exact answer", err, complete)
	}
	out := make([]ledger.Entry, 0, len(sigs))
	for _, sg := range sigs {
		out = append(out, ledger.Entry{ID: sg.EntryID, SHA256: sg.SHA256, Signature: sg.Signature})
	}
	return out
}

// dba runs statements in one transaction with every trigger and foreign
// key off, as a database superuser can.
func dba(t *testing.T, s *ledger.Store, sql string, args ...any) {
	t.Helper()
	tx, err := s.Pool().Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), `SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestSignaturesBeforeReadsTheLog: the signatures an exact revocation-list
// entry keeps valid are those of the revoked key version made before T and
// logged before the revocation's first leaf (not the first revocation
// leaf of the log), each with the digest and signature its leaf records.
// A database administrator who backdates, relabels or repoints a
// signatures row makes the publication fail, naming `ledger verify`; a
// row he adds without a leaf is left out.
func TestSignaturesBeforeReadsTheLog(t *testing.T) {
	t.Parallel()
	f := newAllowlistFixture(t)
	pre1 := f.sign(t, "1.0.0", 1, v0.Add(time.Hour))
	// Another key's revocation first: its leaf is not this revocation's.
	if _, _, _, err := f.revs.RevokeKey(t.Context(), strings.Repeat("e0", 32), "CN=other", v0, revocation.ReasonKeyCompromise, "alice",
		func(revocationstore.SignedCert) bool { return false }); err != nil {
		t.Fatal(err)
	}
	otherRev := logSize(t, f.s) - 1
	pre2 := f.sign(t, "1.0.1", 1, v0.Add(2*time.Hour))
	other := f.sign(t, "2.0.0", 2, v0.Add(time.Hour)) // version 2: not revoked
	post := f.sign(t, "1.0.2", 1, v0.Add(4*time.Hour))
	at := v0.Add(3 * time.Hour)
	atT := f.sign(t, "1.0.3", 1, at) // revoked from T means at T too
	r := f.revokeV1(t, at)
	late := f.sign(t, "1.0.9", 1, v0.Add(time.Hour)) // logged after the revocation, claiming a time before T

	want := []ledger.Entry{pre1, pre2}
	check := func(t *testing.T) {
		t.Helper()
		got := f.allowed(t, r)
		if !slices.EqualFunc(got, want, func(g, w ledger.Entry) bool {
			return g.ID == w.ID && bytes.Equal(g.SHA256, w.SHA256) && bytes.Equal(g.Signature, w.Signature)
		}) {
			t.Errorf("SignaturesBefore kept %v; want exactly entries %d and %d with their logged digests and signatures (not %d, %d, %d, %d)",
				got, pre1.ID, pre2.ID, other.ID, atT.ID, post.ID, late.ID)
		}
	}
	check(t)

	type stmt struct {
		sql  string
		args []any
	}
	for _, tt := range []struct {
		name       string
		edit, undo []stmt
		// refused is a part of the refusal, "" if the answer stands.
		refused string
	}{
		{"post-T signature backdated in the row",
			[]stmt{{`UPDATE signatures SET signed_at = $2 WHERE id = $1`, []any{post.ID, v0.Add(time.Hour)}}},
			[]stmt{{`UPDATE signatures SET signed_at = $2 WHERE id = $1`, []any{post.ID, post.SignedAt}}}, "records key app-signing v1 at 2026-04-01T12:00:00Z"},
		{"another version's signature relabelled as the revoked one's",
			[]stmt{{`UPDATE signatures SET key_version = 1 WHERE id = $1`, []any{other.ID}}},
			[]stmt{{`UPDATE signatures SET key_version = 2 WHERE id = $1`, []any{other.ID}}}, "records key app-signing v2 at"},
		{"rows swapped onto each other's leaves",
			[]stmt{{`UPDATE signatures SET log_index = 999999 WHERE id = $1`, []any{other.ID}},
				{`UPDATE signatures SET log_index = $2 WHERE id = $1`, []any{pre2.ID, other.LogIndex}},
				{`UPDATE signatures SET log_index = $2 WHERE id = $1`, []any{other.ID, pre2.LogIndex}}},
			[]stmt{{`UPDATE signatures SET log_index = 999999 WHERE id = $1`, []any{other.ID}},
				{`UPDATE signatures SET log_index = $2 WHERE id = $1`, []any{pre2.ID, pre2.LogIndex}},
				{`UPDATE signatures SET log_index = $2 WHERE id = $1`, []any{other.ID, other.LogIndex}}}, "does not match its log leaf"},
		{"row pointed at a revocation leaf",
			[]stmt{{`UPDATE signatures SET log_index = $2 WHERE id = $1`, []any{pre2.ID, otherRev}}},
			[]stmt{{`UPDATE signatures SET log_index = $2 WHERE id = $1`, []any{pre2.ID, pre2.LogIndex}}}, "(a revocation leaf, not a signature)"},
		{"row added without a leaf",
			[]stmt{{`INSERT INTO signatures (app_key, version, track, archive_size, sha256, sha512, key_id, key_version, cert_serial, signature,
				caller, review_ref, idempotency_key, signed_at, profile, log_index)
				SELECT app_key, '6.6.6', track, archive_size, sha256, sha512, key_id, key_version, cert_serial, signature,
				caller, review_ref, 'forged', signed_at, profile, 1000 FROM signatures WHERE id = $1`, []any{pre1.ID}}},
			[]stmt{{`DELETE FROM signatures WHERE idempotency_key = 'forged'`, nil}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, st := range tt.edit {
				dba(t, f.s, st.sql, st.args...)
			}
			defer func() {
				for _, st := range tt.undo {
					dba(t, f.s, st.sql, st.args...)
				}
			}()
			if tt.refused == "" {
				check(t)
				return
			}
			if _, _, err := f.revs.SignaturesBefore(t.Context(), r, version1); err == nil || !strings.Contains(err.Error(), tt.refused) || !strings.Contains(err.Error(), "ledger verify") {
				t.Errorf("SignaturesBefore = %v; want it refused (%q), naming ledger verify", err, tt.refused)
			}
		})
	}
	check(t) // every edit undone
}

// TestSignaturesBeforeBoundsByFirstLeaf: the bound is the revocation's
// first leaf even when it is the log's very first (index 0) and a later
// event of the same revocation (moved earlier) follows a late entry: that
// entry claims a time before T, but it was logged after T was decided, so
// nothing stays valid. A revocations row the log does not hold has no
// bound at all: the publication is refused.
func TestSignaturesBeforeBoundsByFirstLeaf(t *testing.T) {
	t.Parallel()
	f := newAllowlistFixture(t)
	f.revokeV1(t, v0.Add(3*time.Hour))
	if n := logSize(t, f.s); n != 1 {
		t.Fatalf("log holds %d leaves after the revocation; the test needs it at index 0", n)
	}
	late := f.sign(t, "1.0.9", 1, v0.Add(time.Hour))
	r := f.revokeV1(t, v0.Add(2*time.Hour)) // moved earlier: a second leaf of the same revocation, after the late entry
	if n := logSize(t, f.s); n != 3 || !r.EffectiveFrom.Equal(v0.Add(2*time.Hour)) {
		t.Fatalf("after moving the revocation earlier: %d leaves, effective from %s; want 3, %s", n, r.EffectiveFrom, v0.Add(2*time.Hour))
	}
	if got := f.allowed(t, r); len(got) != 0 {
		t.Errorf("SignaturesBefore kept %v; want nothing (entry %d was logged after the revocation)", got, late.ID)
	}

	// Written past the log (a store without the ledger's hook).
	unlogged, _, _, err := revocationstore.New(f.s.Pool(), revocationstore.Options{}).RevokeKey(t.Context(), strings.Repeat("b2", 32), "CN=app-signing",
		v0.Add(3*time.Hour), revocation.ReasonKeyCompromise, "mallory", version1)
	if err != nil {
		t.Fatal(err)
	}
	want := "revocation " + strconv.FormatInt(unlogged.ID, 10) + " is not in the log"
	if sigs, _, err := f.revs.SignaturesBefore(t.Context(), unlogged, version1); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("SignaturesBefore of an unlogged revocation = %v, %v; want %q", sigs, err, want)
	}
}
