package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EntryRevocation is a revocation that covers a ledger entry.
type EntryRevocation struct {
	ID int64
	// Kind is "archive", "certificate" or "key".
	Kind string
	// Target names what is revoked: the archive SHA-256, the certificate
	// serial (hex) or the key fingerprint.
	Target string
	Reason string
	// EffectiveFrom is zero for archive revocations.
	EffectiveFrom time.Time
}

// EntryRevocation returns the first revocation whose events list entry id
// among the signatures they revoke, or ErrNotFound.
func (s *Store) EntryRevocation(ctx context.Context, id int64) (EntryRevocation, error) {
	if !s.revocations {
		return EntryRevocation{}, fmt.Errorf("ledger: revocation of entry %d: %w", id, ErrNotFound)
	}
	var r EntryRevocation
	var eff *time.Time
	err := s.pool.QueryRow(ctx, `SELECT r.id, r.kind, coalesce(r.archive_sha256, r.fingerprint, r.serial, r.target), r.reason, r.effective_from
		FROM revocation_events e JOIN revocations r ON r.id = e.revocation_id
		WHERE e.affected_entry_ids @> ARRAY[$1::bigint] ORDER BY e.id LIMIT 1`, id).
		Scan(&r.ID, &r.Kind, &r.Target, &r.Reason, &eff)
	if errors.Is(err, pgx.ErrNoRows) {
		return EntryRevocation{}, fmt.Errorf("ledger: revocation of entry %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return EntryRevocation{}, wrap(fmt.Sprintf("revocation of entry %d", id), err)
	}
	if eff != nil {
		r.EffectiveFrom = eff.UTC()
	}
	return r, nil
}
