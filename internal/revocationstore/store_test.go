package revocationstore_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	ledger *ledger.Store
	certs  map[int32]*x509.Certificate // key version -> certificate of key "k"
}

// newFixture migrates a fresh database, registers key "k" with versions
// 1 and 2 (each with a certificate) and returns the ledger.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureAt(t, pgtest.URL(t))
}

// newFixtureAt is newFixture on the empty database at url.
func newFixtureAt(t *testing.T, url string) *fixture {
	t.Helper()
	if err := ledger.Migrate(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	f := &fixture{ledger: l, certs: map[int32]*x509.Certificate{}}
	exec(t, l, `INSERT INTO keys (name, role, created_at, created_by) VALUES ('app-signing', 'archive-signing', $1, 'test')`, t0)
	for v := int32(1); v <= 2; v++ {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(1000 + v)), Subject: pkix.Name{CommonName: "k"},
			NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
		if err != nil {
			t.Fatal(err)
		}
		f.certs[v], _ = x509.ParseCertificate(der)
		state, retired := "retired", any(t0)
		if v == 2 {
			state, retired = "active", nil
		}
		exec(t, l, `INSERT INTO key_versions (name, version, backend_uri, public_key, certificate, state, created_at, activated_at, retired_at, actor)
			VALUES ('app-signing', $1, 'softkms:path=/x', $2, $3, $4, $5, $5, $6, 'test')`, v, []byte(pub), der, state, t0, retired)
	}
	return f
}

func exec(t *testing.T, l *ledger.Store, sql string, args ...any) {
	t.Helper()
	if _, err := l.Pool().Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// sign records a ledger signature over archive by key version v at at.
func (f *fixture) sign(t *testing.T, archive string, v int32, at time.Time) ledger.Entry {
	t.Helper()
	d256, d512 := sha256.Sum256([]byte(archive)), sha512.Sum512([]byte(archive))
	e, _, err := f.ledger.Record(t.Context(), ledger.Entry{
		AppKey: "com.example.app", Version: archive, Track: ledger.TrackMarketplace, ArchiveSize: int64(len(archive)),
		SHA256: d256[:], SHA512: d512[:], KeyID: "app-signing", KeyVersion: v, CertSerial: hex.EncodeToString(f.certs[v].SerialNumber.Bytes()),
		Signature: bytes.Repeat([]byte{1}, 64), Caller: "test", ReviewRef: "r", IdempotencyKey: archive, SignedAt: at, Profile: ledger.ProfileUPM,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func fingerprint(c *x509.Certificate) string {
	s := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(s[:])
}

// byKey matches signatures under certificates for the key with fingerprint fp.
func byKey(fp string) revocationstore.Matcher {
	return func(c revocationstore.SignedCert) bool { return fingerprint(c.Cert) == fp }
}

func TestRevokeKeyEffectiveTimeOnlyMovesEarlier(t *testing.T) {
	f := newFixture(t)
	s := revocationstore.New(f.ledger.Pool(), revocationstore.Options{Now: func() time.Time { return t0.Add(48 * time.Hour) }})
	var ids []int64
	for i, at := range []time.Duration{1 * time.Hour, 2 * time.Hour, 3 * time.Hour} {
		ids = append(ids, f.sign(t, "1.0."+string(rune('0'+i)), 1, t0.Add(at)).ID)
	}
	other := f.sign(t, "9.9.9", 2, t0.Add(3*time.Hour)) // another key version: never affected
	fp := fingerprint(f.certs[1])

	steps := []struct {
		name        string
		from        time.Duration
		wantChanged bool
		wantFrom    time.Duration
		wantIDs     []int64
	}{
		{"first revocation from T=2h revokes the signatures at or after T", 2 * time.Hour, true, 2 * time.Hour, ids[1:]},
		{"a later time changes nothing", 150 * time.Minute, false, 2 * time.Hour, ids[1:]},
		{"an earlier time moves it earlier and revokes more", 30 * time.Minute, true, 30 * time.Minute, ids},
	}
	for _, st := range steps {
		r, changed, affected, err := s.RevokeKey(t.Context(), fp, "CN=k", t0.Add(st.from), revocation.ReasonKeyCompromise, "admin", byKey(fp))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if changed != st.wantChanged || !r.EffectiveFrom.Equal(t0.Add(st.wantFrom)) || !slices.Equal(affected, st.wantIDs) {
			t.Errorf("%s: changed %v, effective %s, affected %v; want %v, %s, %v", st.name, changed, r.EffectiveFrom, affected, st.wantChanged, t0.Add(st.wantFrom), st.wantIDs)
		}
		if slices.Contains(affected, other.ID) {
			t.Errorf("%s: signature by another key version listed as affected", st.name)
		}
	}
	revs, err := s.List(t.Context())
	if err != nil || len(revs) != 1 {
		t.Fatalf("List = %v, %v; want one revocation", revs, err)
	}
	evs, err := s.Events(t.Context(), revs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Action != "revoked" || evs[1].Action != "moved-earlier" || !slices.Equal(evs[1].AffectedEntryIDs, ids) {
		t.Errorf("events = %+v; want revoked then moved-earlier listing %v", evs, ids)
	}
}

func TestRevokeArchive(t *testing.T) {
	f := newFixture(t)
	s := revocationstore.New(f.ledger.Pool(), revocationstore.Options{})
	e1 := f.sign(t, "2.0.0", 1, t0)
	sum := hex.EncodeToString(e1.SHA256)
	cases := []struct {
		name        string
		target      revocationstore.ArchiveTarget
		wantChanged bool
		wantErr     error
	}{
		{"by ledger entry", revocationstore.ArchiveTarget{LedgerEntryID: e1.ID}, true, nil},
		{"again by digest: already revoked", revocationstore.ArchiveTarget{SHA256: sum}, false, nil},
		{"unknown ledger entry", revocationstore.ArchiveTarget{LedgerEntryID: 9999}, false, revocationstore.ErrNotFound},
		{"bad digest", revocationstore.ArchiveTarget{SHA256: "abc"}, false, revocationstore.ErrInvalid},
	}
	for _, c := range cases {
		r, changed, affected, err := s.RevokeArchive(t.Context(), c.target, revocation.ReasonMalicious, "admin")
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || changed != c.wantChanged || r.ArchiveSHA256 != sum || r.LedgerEntryID != e1.ID || !slices.Equal(affected, []int64{e1.ID}) {
			t.Errorf("%s: %+v changed=%v affected=%v err=%v", c.name, r, changed, affected, err)
		}
	}
}

func TestHookFailureRollsBack(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("log unavailable")
	s := revocationstore.New(f.ledger.Pool(), revocationstore.Options{Hook: func(context.Context, pgx.Tx, revocationstore.Event) error { return boom }})
	fp := fingerprint(f.certs[1])
	if _, _, _, err := s.RevokeKey(t.Context(), fp, "", t0, revocation.ReasonSuperseded, "admin", byKey(fp)); !errors.Is(err, boom) {
		t.Fatalf("RevokeKey with failing hook: %v, want %v", err, boom)
	}
	if revs, err := s.List(t.Context()); err != nil || len(revs) != 0 {
		t.Errorf("after a failed hook List = %v, %v; want nothing recorded", revs, err)
	}
}

func TestPublishNumbersAreConsecutive(t *testing.T) {
	f := newFixture(t)
	s := revocationstore.New(f.ledger.Pool(), revocationstore.Options{})
	sign := func(_ context.Context, v int64, revs []revocationstore.Revocation) (revocationstore.Published, error) {
		return revocationstore.Published{Version: v, IssuedAt: t0, NextUpdate: t0.Add(time.Hour), Data: []byte{byte(v), byte(len(revs))}}, nil
	}
	if _, err := s.LatestList(t.Context()); !errors.Is(err, revocationstore.ErrNotFound) {
		t.Errorf("LatestList before any publish: %v, want ErrNotFound", err)
	}
	for want := int64(1); want <= 3; want++ {
		p, err := s.PublishList(t.Context(), "admin", sign)
		if err != nil || p.Version != want {
			t.Fatalf("PublishList = %d, %v; want version %d", p.Version, err, want)
		}
	}
	latest, err := s.LatestList(t.Context())
	if err != nil || latest.Version != 3 || !bytes.Equal(latest.Data, []byte{3, 0}) {
		t.Errorf("LatestList = %+v, %v; want version 3", latest, err)
	}
	for _, ca := range []string{"root", "marketplace", "root"} {
		if _, err := s.PublishCRL(t.Context(), ca, "admin", sign); err != nil {
			t.Fatal(err)
		}
	}
	for ca, want := range map[string]int64{"root": 2, "marketplace": 1} {
		if p, err := s.LatestCRL(t.Context(), ca); err != nil || p.Version != want {
			t.Errorf("LatestCRL(%s) = %d, %v; want %d", ca, p.Version, err, want)
		}
	}
}
