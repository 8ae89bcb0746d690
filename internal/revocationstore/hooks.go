package revocationstore

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/jackc/pgx/v5"
)

// Log is what the store asks of the transparency log besides Hook: every
// certificate it records and every document it publishes becomes a log
// leaf in the same transaction as its row, and a publication is refused
// when the revocations in force disagree with what the log proves. Any
// method's error rolls its transaction back. internal/ledger implements it.
type Log interface {
	// VendorCertificateIssued runs in the transaction recording v.
	VendorCertificateIssued(ctx context.Context, tx pgx.Tx, v IssuedVendorCertificate) error
	// LockForPublish runs first in a publishing transaction, before the
	// revocations in force are read: while tx holds it no revocation can
	// be logged, so the published document and its leaf see the same set.
	LockForPublish(ctx context.Context, tx pgx.Tx) error
	// CheckInForce compares the revocations rows a document is about to be
	// built from with the revocations the log proves, and fails when any
	// differs, is missing or is extra: a tampered table never reaches a
	// signed list.
	CheckInForce(ctx context.Context, tx pgx.Tx, revs []Revocation) error
	// Published runs in the transaction that stored p.
	Published(ctx context.Context, tx pgx.Tx, p PublishedDocument) error
}

// IssuedVendorCertificate is a vendor_certificates row as recorded.
type IssuedVendorCertificate struct {
	Serial, Vendor, Caller string
	AppKeys                []string
	// Fingerprint is the lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
	Fingerprint string
	Cert        *x509.Certificate
	IssuedAt    time.Time
}

// Document kinds a store publishes.
const (
	DocumentList = "revocation-list"
	DocumentCRL  = "crl"
)

// PublishedDocument is a revocation_lists or crls row as stored.
type PublishedDocument struct {
	// Kind is DocumentList or DocumentCRL.
	Kind string
	// CA is the CRL's issuing CA name; empty for lists.
	CA string
	Published
	Actor string
}
