package revocationstore

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/appsign/signer/internal/revocation"
)

// Kind says what a revocation names.
type Kind string

// Kinds of revocation.
const (
	KindArchive     Kind = "archive"
	KindCertificate Kind = "certificate"
	KindKey         Kind = "key"
)

// Revocation is one revoked archive, certificate or key, as in force now.
type Revocation struct {
	ID   int64
	Kind Kind
	// ArchiveSHA256 (hex) and LedgerEntryID (0 if unknown) for archives.
	ArchiveSHA256 string
	LedgerEntryID int64
	// Issuer (DN) and Serial (lowercase hex) for certificates.
	Issuer, Serial string
	// Fingerprint (hex SHA-256 of the DER SubjectPublicKeyInfo) for keys.
	Fingerprint string
	// Subject of the revoked certificate, when known (informational).
	Subject string
	Reason  revocation.Reason
	// EffectiveFrom for certificates and keys: signatures made at or after
	// it are revoked. Zero for archives.
	EffectiveFrom time.Time
	RevokedAt     time.Time
	RevokedBy     string
}

// Event is one recorded revocation request that changed something.
type Event struct {
	ID           int64
	RevocationID int64
	// Action is "revoked" (first time) or "moved-earlier".
	Action        string
	Reason        revocation.Reason
	EffectiveFrom time.Time
	// AffectedEntryIDs are exactly the ledger signatures the revocation
	// in force after this event revokes, ascending.
	AffectedEntryIDs []int64
	Actor            string
	At               time.Time
	// Revocation is the state after the event.
	Revocation Revocation
}

// Hook runs inside the transaction that records ev; an error rolls the
// event back. It is where a transparency-log leaf is appended.
type Hook func(ctx context.Context, tx pgx.Tx, ev Event) error

// VersionRevoker marks key versions revoked inside the transaction that
// records their revocation (keystore.Store.RevokeTx, adapted); an error
// rolls the revocation back.
type VersionRevoker func(ctx context.Context, tx pgx.Tx, versions []SignedCert, r Revocation, actor string) error

// Options tune a Store.
type Options struct {
	// Hook, if set, runs for every event (see Hook).
	Hook Hook
	// RevokeVersions, if set, runs for every certificate or key
	// revocation with the key versions whose certificates it matches, so
	// that they stop signing in the same transaction.
	RevokeVersions VersionRevoker
	// Log, if set, logs certificates and publications and guards
	// publication (see Log).
	Log Log
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// SignedCert is the certificate a ledger signature was made under.
type SignedCert struct {
	KeyID      string
	KeyVersion int32
	Cert       *x509.Certificate
}

// Matcher decides whether a revocation applies to signatures made under
// a certificate (the leaf, or because a CA on its path is revoked).
type Matcher func(c SignedCert) bool

// Store is the revocation store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options
}

// New returns a store on pool, the ledger's database (migrated).
func New(pool *pgxpool.Pool, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{pool: pool, opts: opts}
}

func (s *Store) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in a transaction that commits if fn returns nil.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, fn)
	if err != nil {
		return wrap(what, err)
	}
	return nil
}
