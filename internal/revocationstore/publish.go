package revocationstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Published is one signed revocation list or CRL as stored.
type Published struct {
	// Version is the list version or CRL number.
	Version    int64
	IssuedAt   time.Time
	NextUpdate time.Time
	// Data is the signed envelope (list) or DER (CRL).
	Data []byte
}

// SignFunc makes the signed document numbered version from every
// revocation in force. It runs inside the publishing transaction, which
// holds the lock that keeps versions consecutive: keep it quick.
type SignFunc func(ctx context.Context, version int64, revs []Revocation) (Published, error)

// PublishList signs the next revocation list version with sign and stores
// it. Versions start at 1 and grow by one.
func (s *Store) PublishList(ctx context.Context, actor string, sign SignFunc) (Published, error) {
	var out Published
	err := s.inTx(ctx, "publish list", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE revocation_lists IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var next int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM revocation_lists`).Scan(&next); err != nil {
			return err
		}
		p, err := s.signWith(ctx, tx, next, sign)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO revocation_lists (version, issued_at, next_update, envelope, published_by)
			VALUES ($1, $2, $3, $4, $5)`, p.Version, p.IssuedAt, p.NextUpdate, p.Data, actor)
		out = p
		return s.published(ctx, tx, err, PublishedDocument{Kind: DocumentList, Published: p, Actor: actor})
	})
	return out, err
}

// LatestList returns the newest published list, or ErrNotFound.
func (s *Store) LatestList(ctx context.Context) (Published, error) {
	var p Published
	err := s.pool.QueryRow(ctx, `SELECT version, issued_at, next_update, envelope FROM revocation_lists
		ORDER BY version DESC LIMIT 1`).Scan(&p.Version, &p.IssuedAt, &p.NextUpdate, &p.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Published{}, fmt.Errorf("revocationstore: latest list: no list published yet: %w", ErrNotFound)
	}
	if err != nil {
		return Published{}, wrap("latest list", err)
	}
	p.IssuedAt, p.NextUpdate = p.IssuedAt.UTC(), p.NextUpdate.UTC()
	return p, nil
}

// PublishCRL signs the next CRL of ca with sign and stores it. CRL numbers
// start at 1 and grow by one per CA.
func (s *Store) PublishCRL(ctx context.Context, ca, actor string, sign SignFunc) (Published, error) {
	if ca == "" {
		return Published{}, fmt.Errorf("%w: no CA named", ErrInvalid)
	}
	var out Published
	err := s.inTx(ctx, "publish crl", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE crls IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var next int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(number), 0) + 1 FROM crls WHERE ca = $1`, ca).Scan(&next); err != nil {
			return err
		}
		p, err := s.signWith(ctx, tx, next, sign)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO crls (ca, number, issued_at, next_update, der, issued_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, ca, p.Version, p.IssuedAt, p.NextUpdate, p.Data, actor)
		out = p
		return s.published(ctx, tx, err, PublishedDocument{Kind: DocumentCRL, CA: ca, Published: p, Actor: actor})
	})
	return out, err
}

// LatestCRL returns the newest CRL of ca, or ErrNotFound.
func (s *Store) LatestCRL(ctx context.Context, ca string) (Published, error) {
	var p Published
	err := s.pool.QueryRow(ctx, `SELECT number, issued_at, next_update, der FROM crls WHERE ca = $1
		ORDER BY number DESC LIMIT 1`, ca).Scan(&p.Version, &p.IssuedAt, &p.NextUpdate, &p.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Published{}, fmt.Errorf("revocationstore: latest crl of %s: none issued yet: %w", ca, ErrNotFound)
	}
	if err != nil {
		return Published{}, wrap("latest crl", err)
	}
	p.IssuedAt, p.NextUpdate = p.IssuedAt.UTC(), p.NextUpdate.UTC()
	return p, nil
}

// published hands a stored document to the log, unless storing it failed.
func (s *Store) published(ctx context.Context, tx pgx.Tx, err error, d PublishedDocument) error {
	if err != nil || s.opts.Log == nil {
		return err
	}
	d.IssuedAt, d.NextUpdate = d.IssuedAt.UTC().Truncate(time.Microsecond), d.NextUpdate.UTC().Truncate(time.Microsecond)
	return s.opts.Log.Published(ctx, tx, d)
}

func (s *Store) signWith(ctx context.Context, tx pgx.Tx, version int64, sign SignFunc) (Published, error) {
	if s.opts.Log != nil {
		if err := s.opts.Log.LockForPublish(ctx, tx); err != nil {
			return Published{}, err
		}
	}
	rows, err := tx.Query(ctx, `SELECT `+revocationColumns+` FROM revocations ORDER BY id`)
	if err != nil {
		return Published{}, err
	}
	revs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Revocation, error) { return scanRevocation(row) })
	if err != nil {
		return Published{}, err
	}
	if s.opts.Log != nil {
		if err := s.opts.Log.CheckInForce(ctx, tx, revs); err != nil {
			return Published{}, fmt.Errorf("%w: %w", ErrLogMismatch, err)
		}
	}
	p, err := sign(ctx, version, revs)
	if err != nil {
		return Published{}, fmt.Errorf("sign version %d: %w", version, err)
	}
	if p.Version != version || len(p.Data) == 0 {
		return Published{}, fmt.Errorf("sign version %d: signer returned version %d with %d bytes", version, p.Version, len(p.Data))
	}
	return p, nil
}
