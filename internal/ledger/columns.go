package ledger

import "github.com/jackc/pgx/v5"

// entryColumns is the select list that scanEntry reads, in its order.
const entryColumns = `id, app_key, version, track, archive_size, sha256, sha512,
	key_id, key_version, cert_serial, signature, caller, review_ref,
	idempotency_key, signed_at, profile, statement`

// scanEntry reads one row selected with entryColumns.
func scanEntry(row pgx.Row) (Entry, error) {
	var e Entry
	err := row.Scan(&e.ID, &e.AppKey, &e.Version, &e.Track, &e.ArchiveSize, &e.SHA256, &e.SHA512,
		&e.KeyID, &e.KeyVersion, &e.CertSerial, &e.Signature, &e.Caller, &e.ReviewRef,
		&e.IdempotencyKey, &e.SignedAt, &e.Profile, &e.Statement)
	e.SignedAt = e.SignedAt.UTC()
	return e, err
}
