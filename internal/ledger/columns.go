package ledger

import "github.com/jackc/pgx/v5"

// entryColumns is the column list that scanEntry reads, in its order, for
// rows of signatures aliased s; the revocation status follows it (see
// selectEntries).
const entryColumns = `s.id, s.app_key, s.version, s.track, s.archive_size, s.sha256, s.sha512,
	s.key_id, s.key_version, s.cert_serial, s.signature, s.caller, s.review_ref,
	s.idempotency_key, s.signed_at, s.profile, s.statement, coalesce(s.log_index, -1)`

// revokedExpr is true when a revocation event lists the entry among those
// it revoked (revocation_events.affected_entry_ids, GIN-indexed).
const revokedExpr = `EXISTS (SELECT 1 FROM revocation_events r WHERE r.affected_entry_ids @> ARRAY[s.id])`

// selectEntries is "SELECT <columns> FROM signatures s", with the
// revocation status when the revocation tables exist.
func (s *Store) selectEntries() string {
	revoked := `false`
	if s.revocations {
		revoked = revokedExpr
	}
	return `SELECT ` + entryColumns + `, ` + revoked + ` FROM signatures s`
}

// scanEntry reads one row selected with selectEntries.
func scanEntry(row pgx.Row) (Entry, error) {
	var e Entry
	err := row.Scan(&e.ID, &e.AppKey, &e.Version, &e.Track, &e.ArchiveSize, &e.SHA256, &e.SHA512,
		&e.KeyID, &e.KeyVersion, &e.CertSerial, &e.Signature, &e.Caller, &e.ReviewRef,
		&e.IdempotencyKey, &e.SignedAt, &e.Profile, &e.Statement, &e.LogIndex, &e.Revoked)
	e.SignedAt = e.SignedAt.UTC()
	return e, err
}
