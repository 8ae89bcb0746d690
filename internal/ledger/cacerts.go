package ledger

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/translog"
)

// NamedCert is a CA certificate the service signs or checks under, with
// the name its configuration gives it ("root", "marketplace", ...).
type NamedCert struct {
	Name string
	Cert *x509.Certificate
}

// LogCACertificates appends a certificate leaf (CACertificateEvent) for
// each of certs the log does not hold yet, in one transaction, and returns
// how many it appended. CA certificates are issued offline (signerctl ca),
// out of the service's reach; logging each one the first time the service
// starts with it puts every CA it ever signed under into the log, where an
// auditor finds a CA the trust bundle never announced. It holds the log's
// sequencer lock while it looks, so replicas starting together log each
// certificate once.
func (s *Store) LogCACertificates(ctx context.Context, actor string, at time.Time, certs []NamedCert) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM log_head FOR UPDATE`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT payload FROM log_leaves WHERE kind = 'certificate' ORDER BY idx`)
		if err != nil {
			return err
		}
		logged := map[string]bool{}
		var payload []byte
		if _, err := pgx.ForEachRow(rows, []any{&payload}, func() error {
			ev, err := DecodeEvent(translog.KindCertificate, payload) // ledger verify reports what does not decode
			var d CertificateDetail
			if err == nil && ev.Action == "ca-registered" && json.Unmarshal(ev.Detail, &d) == nil {
				logged[d.SHA256] = true
			}
			return nil
		}); err != nil {
			return err
		}
		for _, c := range certs {
			sum := sha256.Sum256(c.Cert.Raw)
			if logged[hex.EncodeToString(sum[:])] {
				continue
			}
			logged[hex.EncodeToString(sum[:])] = true
			if _, err := s.AppendEventTx(ctx, tx, CACertificateEvent(c.Name, c.Cert, actor, at)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, wrap("log CA certificates", err)
	}
	return n, nil
}
