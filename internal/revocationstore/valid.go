package revocationstore

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LoggedSignature is one signature as the ledger recorded it.
type LoggedSignature struct {
	EntryID int64
	// SHA256 is the archive's SHA-256 (32 bytes).
	SHA256 []byte
	// Signature is the 64-byte signature the service returned.
	Signature []byte
}

// SignaturesBefore returns every ledger signature made before `before`
// under a key version whose certificate match selects, by entry id.
// complete is true only when the ledger holds every signature made under
// the target: some key version of the service matches, and no certificate
// issued to a vendor (whose key signs outside the service) does. Otherwise
// the ledger cannot say which signatures stay valid.
//
// It reads from the ledger, never from the caller: this is the set an
// exact revocation-list entry keeps valid offline.
func (s *Store) SignaturesBefore(ctx context.Context, before time.Time, match Matcher) (sigs []LoggedSignature, complete bool, err error) {
	if match == nil || before.IsZero() {
		return nil, false, fmt.Errorf("%w: signatures before: need a matcher and a time", ErrInvalid)
	}
	err = s.inTx(ctx, "signatures before", func(tx pgx.Tx) error {
		hit, err := matchVersions(ctx, tx, match)
		if err != nil || len(hit) == 0 {
			return err
		}
		names, versions := make([]string, len(hit)), make([]int32, len(hit))
		for i, k := range hit {
			names[i], versions[i] = k.KeyID, k.KeyVersion
		}
		if vendor, err := matchesVendorCertificate(ctx, tx, match); err != nil || vendor {
			return err
		}
		complete = true
		rows, err := tx.Query(ctx, `SELECT s.id, s.sha256, s.signature FROM signatures s
			JOIN unnest($1::text[], $2::int[]) AS k(name, version) ON s.key_id = k.name AND s.key_version = k.version
			WHERE s.signed_at < $3 ORDER BY s.id`, names, versions, before)
		if err != nil {
			return err
		}
		sigs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (LoggedSignature, error) {
			var l LoggedSignature
			err := row.Scan(&l.EntryID, &l.SHA256, &l.Signature)
			return l, err
		})
		return err
	})
	return sigs, complete, err
}

// matchesVendorCertificate reports whether match selects a certificate
// issued to a vendor.
func matchesVendorCertificate(ctx context.Context, tx pgx.Tx, match Matcher) (bool, error) {
	rows, err := tx.Query(ctx, `SELECT certificate FROM vendor_certificates`)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var der []byte
		if err := rows.Scan(&der); err != nil {
			return false, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return true, nil // unattributable: assume the worst, the list stays not exact
		}
		if match(SignedCert{Cert: c}) {
			return true, nil
		}
	}
	return false, rows.Err()
}
