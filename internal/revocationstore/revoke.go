package revocationstore

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/revocation"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// revocationColumns is what scanRevocation reads, in order.
const revocationColumns = `id, kind, coalesce(archive_sha256, ''), coalesce(ledger_entry_id, 0),
	coalesce(issuer, ''), coalesce(serial, ''), coalesce(fingerprint, ''), subject, reason,
	effective_from, revoked_at, revoked_by`

func scanRevocation(row pgx.Row) (Revocation, error) {
	var r Revocation
	var eff *time.Time
	err := row.Scan(&r.ID, &r.Kind, &r.ArchiveSHA256, &r.LedgerEntryID, &r.Issuer, &r.Serial,
		&r.Fingerprint, &r.Subject, &r.Reason, &eff, &r.RevokedAt, &r.RevokedBy)
	if eff != nil {
		r.EffectiveFrom = eff.UTC()
	}
	r.RevokedAt = r.RevokedAt.UTC()
	return r, err
}

// ArchiveTarget names an archive: by ledger entry (its SHA-256 is read
// from the ledger) or by SHA-256 (hex).
type ArchiveTarget struct {
	LedgerEntryID int64
	SHA256        string
}

// RevokeArchive revokes every signature over one archive. It returns the
// revocation, whether this request recorded it (false: it was already
// revoked; nothing changes) and the ledger entries of signatures over the
// archive. A ledger entry that does not exist gives ErrNotFound.
func (s *Store) RevokeArchive(ctx context.Context, t ArchiveTarget, reason revocation.Reason, actor string) (Revocation, bool, []int64, error) {
	if _, err := revocation.ParseReason(string(reason)); err != nil || actor == "" {
		return Revocation{}, false, nil, fmt.Errorf("%w: reason %q, actor %q", ErrInvalid, reason, actor)
	}
	var out Revocation
	var changed bool
	var affected []int64
	err := s.inTx(ctx, "revoke archive", func(tx pgx.Tx) error {
		sum := strings.ToLower(t.SHA256)
		entryID := t.LedgerEntryID
		if entryID > 0 {
			var raw []byte
			err := tx.QueryRow(ctx, `SELECT sha256 FROM signatures WHERE id = $1`, entryID).Scan(&raw)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("ledger entry %d: %w", entryID, ErrNotFound)
			}
			if err != nil {
				return err
			}
			got := hex.EncodeToString(raw)
			if sum != "" && sum != got {
				return fmt.Errorf("%w: ledger entry %d is archive %s, not %s", ErrInvalid, entryID, got, sum)
			}
			sum = got
		}
		if !hex64.MatchString(sum) {
			return fmt.Errorf("%w: archive SHA-256 must be 64 hex digits", ErrInvalid)
		}
		if entryID == 0 {
			// Name the first signature over the archive, if any, in the list.
			err := tx.QueryRow(ctx, `SELECT id FROM signatures WHERE sha256 = $1 ORDER BY id LIMIT 1`, mustHex(sum)).Scan(&entryID)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		var entry *int64
		if entryID > 0 {
			entry = &entryID
		}
		now := s.now()
		row := tx.QueryRow(ctx, `INSERT INTO revocations (kind, target, archive_sha256, ledger_entry_id, reason, revoked_at, revoked_by)
			VALUES ('archive', $1, $1, $2, $3, $4, $5) ON CONFLICT (kind, target) DO NOTHING
			RETURNING `+revocationColumns, sum, entry, string(reason), now, actor)
		r, err := scanRevocation(row)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			r, err = scanRevocation(tx.QueryRow(ctx, `SELECT `+revocationColumns+` FROM revocations WHERE kind = 'archive' AND target = $1`, sum))
		case err == nil:
			changed = true
		}
		if err != nil {
			return err
		}
		out = r
		rows, err := tx.Query(ctx, `SELECT id FROM signatures WHERE sha256 = $1 ORDER BY id`, mustHex(sum))
		if err != nil {
			return err
		}
		if affected, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		return s.recordEvent(ctx, tx, Event{RevocationID: r.ID, Action: "revoked", Reason: reason,
			AffectedEntryIDs: affected, Actor: actor, At: now, Revocation: r})
	})
	return out, changed, affected, err
}

// CertificateTarget names a certificate by issuer DN and serial (hex).
type CertificateTarget struct {
	Issuer, Serial string
	// Subject is informational (listed with the revocation).
	Subject string
}

// RevokeCertificate revokes a certificate from effectiveFrom on. If it is
// already revoked from an earlier time nothing changes; from a later time,
// the effective time moves earlier (it never moves later). match selects
// the ledger signatures made under the certificate; those made at or after
// the effective time in force are returned and recorded with the event.
func (s *Store) RevokeCertificate(ctx context.Context, t CertificateTarget, effectiveFrom time.Time, reason revocation.Reason, actor string, match Matcher) (Revocation, bool, []int64, error) {
	n, ok := new(big.Int).SetString(t.Serial, 16)
	if t.Issuer == "" || !ok || n.Sign() <= 0 {
		return Revocation{}, false, nil, fmt.Errorf("%w: certificate needs an issuer and a positive hex serial", ErrInvalid)
	}
	serial := hex.EncodeToString(n.Bytes())
	return s.revokeTimed(ctx, KindCertificate, t.Issuer+"\x1f"+serial, map[string]any{"issuer": t.Issuer, "serial": serial}, t.Subject, effectiveFrom, reason, actor, match)
}

// RevokeKey revokes a key (its fingerprint, lowercase hex SHA-256 of the
// DER SubjectPublicKeyInfo) from effectiveFrom on, like RevokeCertificate.
func (s *Store) RevokeKey(ctx context.Context, fingerprint, subject string, effectiveFrom time.Time, reason revocation.Reason, actor string, match Matcher) (Revocation, bool, []int64, error) {
	fp := strings.ToLower(fingerprint)
	if !hex64.MatchString(fp) {
		return Revocation{}, false, nil, fmt.Errorf("%w: key fingerprint must be 64 hex digits", ErrInvalid)
	}
	return s.revokeTimed(ctx, KindKey, fp, map[string]any{"fingerprint": fp}, subject, effectiveFrom, reason, actor, match)
}

func (s *Store) revokeTimed(ctx context.Context, kind Kind, target string, cols map[string]any, subject string, effectiveFrom time.Time, reason revocation.Reason, actor string, match Matcher) (Revocation, bool, []int64, error) {
	if _, err := revocation.ParseReason(string(reason)); err != nil || actor == "" || effectiveFrom.IsZero() || match == nil {
		return Revocation{}, false, nil, fmt.Errorf("%w: %s revocation needs a known reason, an actor, an effective time and a matcher", ErrInvalid, kind)
	}
	eff := effectiveFrom.UTC().Truncate(time.Microsecond)
	var out Revocation
	var changed bool
	var affected []int64
	err := s.inTx(ctx, "revoke "+string(kind), func(tx pgx.Tx) error {
		now := s.now()
		cur, err := scanRevocation(tx.QueryRow(ctx, `SELECT `+revocationColumns+` FROM revocations
			WHERE kind = $1 AND target = $2 FOR UPDATE`, string(kind), target))
		action := "revoked"
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			cur, err = scanRevocation(tx.QueryRow(ctx, `INSERT INTO revocations
				(kind, target, issuer, serial, fingerprint, subject, reason, effective_from, revoked_at, revoked_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+revocationColumns,
				string(kind), target, cols["issuer"], cols["serial"], cols["fingerprint"], subject, string(reason), eff, now, actor))
			changed = true
		case err != nil:
		case eff.Before(cur.EffectiveFrom):
			// The reason never weakens: one admin cannot turn key-compromise
			// into superseded by moving the time earlier.
			action = "moved-earlier"
			cur, err = scanRevocation(tx.QueryRow(ctx, `UPDATE revocations SET effective_from = $2, reason = $3
				WHERE id = $1 RETURNING `+revocationColumns, cur.ID, eff, string(revocation.Stronger(cur.Reason, reason))))
			changed = true
		}
		if err != nil {
			return err
		}
		out = cur
		hit, err := matchVersions(ctx, tx, match)
		if err != nil {
			return err
		}
		// Revoking the versions locks the log head (their key events are
		// leaves) before the affected signatures are read: no signature
		// by them can commit in between, so the list below is exact.
		if s.opts.RevokeVersions != nil && len(hit) > 0 {
			if err := s.opts.RevokeVersions(ctx, tx, hit, cur, actor); err != nil {
				return err
			}
		}
		if affected, err = signedSince(ctx, tx, cur.EffectiveFrom, hit); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		return s.recordEvent(ctx, tx, Event{RevocationID: cur.ID, Action: action, Reason: reason, EffectiveFrom: cur.EffectiveFrom,
			AffectedEntryIDs: affected, Actor: actor, At: now, Revocation: cur})
	})
	return out, changed, affected, err
}

// matchVersions returns the key versions whose certificates match selects.
func matchVersions(ctx context.Context, tx pgx.Tx, match Matcher) ([]SignedCert, error) {
	rows, err := tx.Query(ctx, `SELECT name, version, certificate FROM key_versions WHERE certificate IS NOT NULL ORDER BY name, version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hit []SignedCert
	for rows.Next() {
		var sc SignedCert
		var der []byte
		if err := rows.Scan(&sc.KeyID, &sc.KeyVersion, &der); err != nil {
			return nil, err
		}
		if sc.Cert, err = x509.ParseCertificate(der); err != nil {
			continue // the keystore checks certificates; an unparsable one signed nothing we can attribute
		}
		if match(sc) {
			hit = append(hit, sc)
		}
	}
	return hit, rows.Err()
}

// signedSince returns the ids of ledger signatures made at or after since
// under the key versions hit.
func signedSince(ctx context.Context, tx pgx.Tx, since time.Time, hit []SignedCert) ([]int64, error) {
	ids := []int64{}
	if len(hit) == 0 {
		return ids, nil
	}
	names, versions := make([]string, len(hit)), make([]int32, len(hit))
	for i, k := range hit {
		names[i], versions[i] = k.KeyID, k.KeyVersion
	}
	rows, err := tx.Query(ctx, `SELECT s.id FROM signatures s
		JOIN unnest($1::text[], $2::int[]) AS k(name, version) ON s.key_id = k.name AND s.key_version = k.version
		WHERE s.signed_at >= $3 ORDER BY s.id`, names, versions, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (s *Store) recordEvent(ctx context.Context, tx pgx.Tx, ev Event) error {
	var eff *time.Time
	if !ev.EffectiveFrom.IsZero() {
		eff = &ev.EffectiveFrom
	}
	if ev.AffectedEntryIDs == nil {
		ev.AffectedEntryIDs = []int64{}
	}
	err := tx.QueryRow(ctx, `INSERT INTO revocation_events (revocation_id, action, reason, effective_from, affected_entry_ids, actor, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		ev.RevocationID, ev.Action, string(ev.Reason), eff, ev.AffectedEntryIDs, ev.Actor, ev.At).Scan(&ev.ID)
	if err != nil {
		return err
	}
	if s.opts.Hook != nil {
		if err := s.opts.Hook(ctx, tx, ev); err != nil {
			return fmt.Errorf("hook: %w", err)
		}
	}
	return nil
}

// List returns every revocation in force, oldest first.
func (s *Store) List(ctx context.Context) ([]Revocation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+revocationColumns+` FROM revocations ORDER BY id`)
	if err != nil {
		return nil, wrap("list", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Revocation, error) { return scanRevocation(row) })
	if err != nil {
		return nil, wrap("list", err)
	}
	return out, nil
}

// Events returns the events of one revocation, oldest first.
func (s *Store) Events(ctx context.Context, revocationID int64) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, revocation_id, action, reason, effective_from, affected_entry_ids, actor, at
		FROM revocation_events WHERE revocation_id = $1 ORDER BY id`, revocationID)
	if err != nil {
		return nil, wrap("events", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Event, error) {
		var e Event
		var eff *time.Time
		err := row.Scan(&e.ID, &e.RevocationID, &e.Action, &e.Reason, &eff, &e.AffectedEntryIDs, &e.Actor, &e.At)
		if eff != nil {
			e.EffectiveFrom = eff.UTC()
		}
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, wrap("events", err)
	}
	return out, nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}
