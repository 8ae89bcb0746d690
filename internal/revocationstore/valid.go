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

// SignatureLog is the optional capability of Options.Log that
// SignaturesBefore needs: the signatures made under versions before a
// time, as the log's leaves record them (not as the signatures table
// says: a database administrator can edit it), logged before the first
// event of revocation revocationID.
type SignatureLog interface {
	SignaturesBefore(ctx context.Context, tx pgx.Tx, revocationID int64, versions []SignedCert, before time.Time) ([]LoggedSignature, error)
}

// SignaturesBefore returns every logged signature made before r's
// effective time under a key version whose certificate match selects, by
// entry id. complete is true only when the log holds every signature made
// under the target: Options.Log is a SignatureLog, some key version of the
// service matches, and no certificate issued to a vendor (whose key signs
// outside the service) does. Otherwise nobody can say which signatures
// stay valid.
//
// It reads from the log, never from the caller: this is the set an exact
// revocation-list entry keeps valid offline.
func (s *Store) SignaturesBefore(ctx context.Context, r Revocation, match Matcher) (sigs []LoggedSignature, complete bool, err error) {
	before := r.EffectiveFrom
	if match == nil || before.IsZero() {
		return nil, false, fmt.Errorf("%w: signatures before: need a matcher and a time", ErrInvalid)
	}
	sl, ok := s.opts.Log.(SignatureLog)
	if !ok {
		return nil, false, nil
	}
	err = s.inTx(ctx, "signatures before", func(tx pgx.Tx) error {
		hit, err := matchVersions(ctx, tx, match)
		if err != nil || len(hit) == 0 {
			return err
		}
		if vendor, err := matchesVendorCertificate(ctx, tx, match); err != nil || vendor {
			return err
		}
		if sigs, err = sl.SignaturesBefore(ctx, tx, r.ID, hit, before); err != nil {
			return err
		}
		complete = true
		return nil
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
