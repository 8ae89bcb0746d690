package ledger_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/translog"
)

var p0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// selfSigned returns a certificate for a fresh Ed25519 key.
func selfSigned(t *testing.T, serial int64, cn string) *x509.Certificate {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: p0.Add(-time.Hour), NotAfter: p0.Add(90 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// logKeyVersion writes a key version and its events as the keystore does
// (rows first, then OnEvent in the same transaction): version 1 created,
// or a rotation retiring version-1.
func logKeyVersion(t *testing.T, s *ledger.Store, name string, version int32, cert *x509.Certificate, at time.Time) {
	t.Helper()
	ctx := t.Context()
	hook := s.KeyEventHook()
	err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
		kind := keystore.EventCreated
		var evs []keystore.Event
		if version == 1 {
			if _, err := tx.Exec(ctx, `INSERT INTO keys (name, role, created_at, created_by) VALUES ($1, 'archive-signing', $2, 'alice')`, name, at); err != nil {
				return err
			}
		} else {
			kind = keystore.EventRotated
			if _, err := tx.Exec(ctx, `UPDATE key_versions SET state = 'retired', retired_at = $3 WHERE name = $1 AND version = $2`, name, version-1, at); err != nil {
				return err
			}
			evs = append(evs, keystore.Event{Name: name, Version: version - 1, Kind: keystore.EventRetired, Actor: "alice", At: at, Detail: keystore.EventDetail{ReplacedBy: version}})
		}
		pub := cert.PublicKey.(ed25519.PublicKey)
		if _, err := tx.Exec(ctx, `INSERT INTO key_versions (name, version, backend_uri, public_key, certificate, state, created_at, activated_at, actor)
			VALUES ($1, $2, 'softkms:name=x', $3, $4, 'active', $5, $5, 'alice')`, name, version, []byte(pub), cert.Raw, at); err != nil {
			return err
		}
		sum := sha256.Sum256(cert.Raw)
		evs = append(evs, keystore.Event{Name: name, Version: version, Kind: kind, Actor: "alice", At: at, Detail: keystore.EventDetail{
			Role: keystore.RoleArchiveSigning, BackendURI: "softkms:name=x", PublicKey: hex.EncodeToString(pub),
			CertSerial: cert.SerialNumber.Text(16), CertSHA256: hex.EncodeToString(sum[:]), Replaces: version - 1}})
		for _, ev := range evs {
			d, _ := json.Marshal(ev.Detail)
			if err := tx.QueryRow(ctx, `INSERT INTO key_events (name, version, event, actor, at, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				ev.Name, ev.Version, ev.Kind, ev.Actor, ev.At, d).Scan(&ev.ID); err != nil {
				return err
			}
			if err := hook(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("add key version %s v%d: %v", name, version, err)
	}
}

// listSigner signs revocation lists built from what the store hands it.
func listSigner(key *testKey) revocationstore.SignFunc {
	return func(ctx context.Context, version int64, revs []revocationstore.Revocation) (revocationstore.Published, error) {
		in := revocation.Input{Issuer: "test", Version: uint64(version), IssuedAt: p0.Add(48 * time.Hour), NextUpdate: p0.Add(72 * time.Hour)}
		for _, r := range revs {
			switch r.Kind {
			case revocationstore.KindArchive:
				in.Archives = append(in.Archives, revocation.RevokedArchive{SHA256: r.ArchiveSHA256, Reason: r.Reason, RevokedAt: r.RevokedAt})
			case revocationstore.KindKey:
				in.Keys = append(in.Keys, revocation.RevokedKey{Fingerprint: r.Fingerprint, EffectiveFrom: r.EffectiveFrom, Reason: r.Reason})
			}
		}
		l, err := revocation.Build(in)
		if err != nil {
			return revocationstore.Published{}, err
		}
		env, err := revocation.Sign(ctx, l, key, nil)
		return revocationstore.Published{Version: version, IssuedAt: l.IssuedAt, NextUpdate: l.NextUpdate, Data: env}, err
	}
}

// projectionFixture logs one of every trust-relevant event through the
// real stores' hooks.
func projectionFixture(t *testing.T) (*ledger.Store, *revocationstore.Store, string) {
	t.Helper()
	ctx := t.Context()
	s, url := newStore(t)
	clock := p0
	rs := revocationstore.New(s.Pool(), func() revocationstore.Options {
		o := s.RevocationStoreOptions(nil)
		o.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
		return o
	}())
	logKeyVersion(t, s, "app-signing", 1, selfSigned(t, 11, "signing v1"), p0)
	logKeyVersion(t, s, "app-signing", 2, selfSigned(t, 12, "signing v2"), p0.Add(time.Hour))
	e, _, err := s.Record(ctx, entry("com.example.app", "1.0.0", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := rs.RevokeArchive(ctx, revocationstore.ArchiveTarget{LedgerEntryID: e.ID}, revocation.ReasonKeyCompromise, "alice"); err != nil {
		t.Fatal(err)
	}
	fp := strings.Repeat("ab", 32)
	all := func(revocationstore.SignedCert) bool { return true }
	for _, from := range []time.Duration{10 * time.Hour, 2 * time.Hour} { // revoked, then moved earlier
		if _, _, _, err := rs.RevokeKey(ctx, fp, "CN=stolen", p0.Add(from), revocation.ReasonKeyCompromise, "alice", all); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.RecordVendorCertificate(ctx, revocationstore.VendorCertificate{Vendor: "acme", Caller: "acme-ci", AppKeys: []string{"com.acme.a", "com.acme.b"},
		Cert: selfSigned(t, 0x77, "acme")}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.PublishList(ctx, "alice", listSigner(newTestKey())); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.PublishCRL(ctx, "marketplace", "alice", func(_ context.Context, n int64, _ []revocationstore.Revocation) (revocationstore.Published, error) {
		return revocationstore.Published{Version: n, IssuedAt: p0.Add(48 * time.Hour), NextUpdate: p0.Add(72 * time.Hour), Data: []byte("crl der")}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return s, rs, url
}

// project recomputes the projections from every leaf of the log.
func project(t *testing.T, s *ledger.Store) *ledger.Projector {
	t.Helper()
	size, err := s.Log().Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p := ledger.NewProjector()
	for e, err := range s.Log().Entries(t.Context(), 0, size.N) {
		if err != nil {
			t.Fatal(err)
		}
		p.Leaf(e.Index, e.Leaf)
	}
	return p
}

// TestProjectionsMatchTheLog: every trust-relevant change is a leaf, and
// the tables recomputed from the leaves are exactly the database's.
func TestProjectionsMatchTheLog(t *testing.T) {
	s, _, _ := projectionFixture(t)
	p := project(t, s)
	db, err := s.ReadProjections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Compare(db.Tables); len(f) != 0 {
		t.Fatalf("untouched database: findings %v", f)
	}
	rows := p.Rows()
	for table, want := range map[string]int{ledger.TableKeys: 1, ledger.TableKeyVersions: 2, ledger.TableKeyEvents: 3,
		ledger.TableVendorCertificates: 1, ledger.TableRevocations: 2, ledger.TableRevocationEvents: 3,
		ledger.TableRevocationLists: 1, ledger.TableCRLs: 1} {
		if len(rows[table]) != want || len(db.Tables[table]) != want {
			t.Errorf("%s: %d rows from the log, %d in the database; want %d", table, len(rows[table]), len(db.Tables[table]), want)
		}
	}
	// Each certificate issued is a certificate leaf holding it whole.
	var certs int
	for e, err := range s.Log().Entries(t.Context(), 0, p.Events+1) {
		if err != nil || e.Leaf == nil {
			continue
		}
		if l, _ := translog.DecodeLeaf(e.Leaf); l.Kind == translog.KindCertificate {
			certs++
		}
	}
	if certs != 3 { // two signing, one vendor
		t.Errorf("%d certificate leaves, want 3", certs)
	}
}

// TestProjectionsCatchTampering plays the database superuser: with
// triggers off, each edit is made and the recomputed tables must name it.
func TestProjectionsCatchTampering(t *testing.T) {
	s, _, _ := projectionFixture(t)
	p := project(t, s)
	tests := []struct {
		name string
		sql  []string
		want []string
	}{
		{"revocation deleted", []string{`DELETE FROM revocation_events`, `DELETE FROM revocations`},
			[]string{"leaf 6: revocations 1 is missing", "leaf 8: revocations 2 is missing",
				"leaf 6: revocation_events 1 is missing", "leaf 7: revocation_events 2 is missing", "leaf 8: revocation_events 3 is missing"}},
		{"revocation rewritten", []string{`UPDATE revocations SET reason = 'superseded', effective_from = effective_from + interval '1 day' WHERE kind = 'key'`},
			[]string{`revocations 2 differs from the log: effective_from is "2026-05-02T11:00:00.000000Z", the log says "2026-05-01T11:00:00.000000Z"; reason is "superseded", the log says "key-compromise"`}},
		{"revocation event rewritten", []string{`UPDATE revocation_events SET affected_entry_ids = '{}' WHERE id = 1`},
			[]string{`revocation_events 1 differs from the log: affected_entry_ids is "", the log says "1"`}},
		{"revocation inserted", []string{`INSERT INTO revocations (kind, target, archive_sha256, reason, revoked_at, revoked_by)
			VALUES ('archive', repeat('c', 64), repeat('c', 64), 'superseded', now(), 'mallory')`},
			[]string{"revocations 3: no log leaf records it"}},
		{"key state edited", []string{`UPDATE key_versions SET state = 'retired', retired_at = now() WHERE version = 2`, `UPDATE key_versions SET state = 'active', retired_at = NULL WHERE version = 1`},
			[]string{`key_versions app-signing v1 differs from the log: retired_at is ""`, `key_versions app-signing v2 differs from the log: retired_at is "`}},
		{"key version's key swapped", []string{`UPDATE key_versions SET public_key = '\x` + strings.Repeat("00", 32) + `' WHERE version = 2`},
			[]string{`key_versions app-signing v2 differs from the log: public_key is "` + strings.Repeat("00", 32)}},
		{"vendor certificate edited", []string{`UPDATE vendor_certificates SET app_keys = '{com.acme.a,com.victim.app}'`},
			[]string{`vendor_certificates 77 differs from the log: app_keys is "com.acme.a,com.victim.app", the log says "com.acme.a,com.acme.b"`}},
		{"vendor certificate inserted", []string{`INSERT INTO vendor_certificates SELECT '78', vendor, caller, app_keys, fingerprint, not_before, not_after, certificate, issued_at FROM vendor_certificates`},
			[]string{"vendor_certificates 78: no log leaf records it"}},
		{"published list replaced", []string{`UPDATE revocation_lists SET envelope = '\x7b7d'`},
			[]string{"revocation_lists 1 differs from the log: sha256 is"}},
		{"crl deleted", []string{`DELETE FROM crls`}, []string{"crls marketplace #1 is missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			tx, err := s.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
			// What a superuser can do: switch the append-only triggers off.
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				t.Fatal(err)
			}
			for _, q := range tt.sql {
				if _, err := tx.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db, err := ledger.ReadProjectionsTx(ctx, tx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range p.Compare(db.Tables) {
				got = append(got, f.String())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("findings:\n%s\nwant %d matching %q", strings.Join(got, "\n"), len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("finding %d = %q; want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestPublishRefusesTamperedRevocations: the next list is built only from
// revocations the log proves; deleting the rows behind the service makes
// publishing fail, and nothing is published.
func TestPublishRefusesTamperedRevocations(t *testing.T) {
	s, rs, _ := projectionFixture(t)
	ctx := t.Context()
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SET LOCAL session_replication_role = replica`, `DELETE FROM revocation_events WHERE revocation_id = 2`, `DELETE FROM revocations WHERE id = 2`} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = rs.PublishList(ctx, "alice", listSigner(newTestKey()))
	if !errors.Is(err, revocationstore.ErrLogMismatch) || !strings.Contains(err.Error(), "revocations 2 is missing") {
		t.Fatalf("PublishList over a deleted revocation: %v; want ErrLogMismatch naming revocations 2", err)
	}
	latest, err := rs.LatestList(ctx)
	if err != nil || latest.Version != 1 {
		t.Fatalf("latest list after the refusal: v%d, %v; want v1", latest.Version, err)
	}
}

// TestLogCACertificates: each CA certificate is logged once, whole, however
// often (and by however many replicas) the service starts with it.
func TestLogCACertificates(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	root, inter := selfSigned(t, 1, "root"), selfSigned(t, 2, "intermediate")
	certs := []ledger.NamedCert{{Name: "root", Cert: root}, {Name: "marketplace", Cert: inter}}
	for i, want := range []int{2, 0} {
		n, err := s.LogCACertificates(ctx, "signer serve", p0, certs)
		if err != nil || n != want {
			t.Fatalf("start %d: logged %d, %v; want %d", i, n, err, want)
		}
	}
	n, err := s.LogCACertificates(ctx, "signer serve", p0, append(certs, ledger.NamedCert{Name: "private-build", Cert: selfSigned(t, 3, "pb")}))
	if err != nil || n != 1 {
		t.Fatalf("a new CA: logged %d, %v; want 1", n, err)
	}
	leaf := leafAt(t, s.Log(), 2)
	ev, err := ledger.DecodeEvent(leaf.Kind, leaf.Payload)
	if err != nil || leaf.Kind != translog.KindCertificate || ev.Action != "ca-registered" {
		t.Fatalf("leaf 2: %s %s, %v", leaf.Kind, leaf.Payload, err)
	}
	var d ledger.CertificateDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d.CA != "private-build" || d.Profile != ledger.CertCA || d.Serial != "03" {
		t.Fatalf("leaf 2 detail %+v, %v", d, err)
	}
	if c, err := x509.ParseCertificate(d.DER); err != nil || c.Subject.CommonName != "pb" {
		t.Fatalf("logged DER: %v", err)
	}
}
