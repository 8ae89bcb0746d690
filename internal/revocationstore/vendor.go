package revocationstore

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// VendorCertificate is a private-build certificate issued to a vendor.
type VendorCertificate struct {
	Vendor string
	// Caller is the authenticated identity that asked for it.
	Caller  string
	AppKeys []string
	Cert    *x509.Certificate
}

// RecordVendorCertificate records an issued private-build certificate. The
// service returns a certificate only after this committed.
func (s *Store) RecordVendorCertificate(ctx context.Context, v VendorCertificate) error {
	if v.Cert == nil || v.Vendor == "" || v.Caller == "" || len(v.AppKeys) == 0 {
		return fmt.Errorf("%w: vendor certificate needs a certificate, vendor, caller and app keys", ErrInvalid)
	}
	fp := sha256.Sum256(v.Cert.RawSubjectPublicKeyInfo)
	rec := IssuedVendorCertificate{Serial: hex.EncodeToString(v.Cert.SerialNumber.Bytes()), Vendor: v.Vendor, Caller: v.Caller,
		AppKeys: v.AppKeys, Fingerprint: hex.EncodeToString(fp[:]), Cert: v.Cert, IssuedAt: s.now()}
	return s.inTx(ctx, "record vendor certificate", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO vendor_certificates
			(serial, vendor, caller, app_keys, fingerprint, not_before, not_after, certificate, issued_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			rec.Serial, rec.Vendor, rec.Caller, rec.AppKeys, rec.Fingerprint,
			v.Cert.NotBefore.UTC(), v.Cert.NotAfter.UTC(), v.Cert.Raw, rec.IssuedAt)
		if err != nil || s.opts.Log == nil {
			return err
		}
		return s.opts.Log.VendorCertificateIssued(ctx, tx, rec)
	})
}

// VendorCertificates returns the certificates issued to vendor, oldest first.
func (s *Store) VendorCertificates(ctx context.Context, vendor string) ([]*x509.Certificate, error) {
	rows, err := s.pool.Query(ctx, `SELECT certificate FROM vendor_certificates WHERE vendor = $1 ORDER BY issued_at, serial`, vendor)
	if err != nil {
		return nil, wrap("vendor certificates", err)
	}
	ders, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, wrap("vendor certificates", err)
	}
	out := make([]*x509.Certificate, 0, len(ders))
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("revocationstore: vendor certificates: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}
