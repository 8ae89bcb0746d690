package revocationstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

// TestRevocationsNeverWeaken plays a single admin who wants a
// key-compromise revocation to read "superseded": moving the time earlier
// with a weaker reason keeps key-compromise; a weaker first reason becomes
// key-compromise when one is given. With the service's database grants,
// no SQL weakens the reason, moves the time later, re-aims or removes a
// revocation.
func TestRevocationsNeverWeaken(t *testing.T) {
	f := newFixture(t)
	s := revocationstore.New(f.ledger.Pool(), revocationstore.Options{Now: func() time.Time { return t0.Add(48 * time.Hour) }})
	fp := fingerprint(f.certs[1])
	revoke := func(from time.Duration, reason revocation.Reason) revocationstore.Revocation {
		t.Helper()
		r, _, _, err := s.RevokeKey(t.Context(), fp, "CN=k", t0.Add(from), reason, "admin", byKey(fp))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := revoke(2*time.Hour, revocation.ReasonKeyCompromise); r.Reason != revocation.ReasonKeyCompromise {
		t.Fatalf("first revocation: %s", r.Reason)
	}
	if r := revoke(time.Hour, revocation.ReasonSuperseded); r.Reason != revocation.ReasonKeyCompromise || !r.EffectiveFrom.Equal(t0.Add(time.Hour)) {
		t.Errorf("moved earlier as superseded: %s from %s; want key-compromise from %s", r.Reason, r.EffectiveFrom, t0.Add(time.Hour))
	}

	cert := revocationstore.CertificateTarget{Issuer: "CN=k", Serial: f.certs[2].SerialNumber.Text(16)}
	r, _, _, err := s.RevokeCertificate(t.Context(), cert, t0.Add(3*time.Hour), revocation.ReasonSuperseded, "admin", func(revocationstore.SignedCert) bool { return false })
	if err != nil || r.Reason != revocation.ReasonSuperseded {
		t.Fatalf("superseded certificate: %+v, %v", r, err)
	}
	r, _, _, err = s.RevokeCertificate(t.Context(), cert, t0.Add(2*time.Hour), revocation.ReasonKeyCompromise, "admin", func(revocationstore.SignedCert) bool { return false })
	if err != nil || r.Reason != revocation.ReasonKeyCompromise {
		t.Errorf("moved earlier as key-compromise: %+v, %v; want key-compromise", r, err)
	}

	exec(t, f.ledger, `CREATE ROLE signer_service NOLOGIN;
		GRANT SELECT, INSERT, UPDATE, DELETE ON revocations TO signer_service`)
	for _, tt := range []struct{ name, sql string }{
		{"weaken the reason", `UPDATE revocations SET reason = 'superseded' WHERE kind = 'key'`},
		{"swap compromise reasons", `UPDATE revocations SET reason = 'ca-compromise' WHERE kind = 'key'`},
		{"move the time later", `UPDATE revocations SET effective_from = effective_from + interval '1 day' WHERE kind = 'key'`},
		{"re-aim at another key", `UPDATE revocations SET fingerprint = repeat('a', 64), target = repeat('a', 64) WHERE kind = 'key'`},
		{"delete", `DELETE FROM revocations WHERE kind = 'key'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := pgx.BeginFunc(t.Context(), f.ledger.Pool(), func(tx pgx.Tx) error {
				if _, err := tx.Exec(t.Context(), `SET LOCAL ROLE signer_service`); err != nil {
					t.Fatal(err)
				}
				_, err := tx.Exec(t.Context(), tt.sql)
				return err
			})
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23000" {
				t.Fatalf("%s: %v, want SQLSTATE 23000", tt.sql, err)
			}
		})
	}
	revs, err := s.List(t.Context())
	if err != nil || len(revs) != 2 || revs[0].Reason != revocation.ReasonKeyCompromise || !revs[0].EffectiveFrom.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after the attempts: %+v, %v", revs, err)
	}
}
