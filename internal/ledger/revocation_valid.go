package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/translog"
)

// SignaturesBefore implements revocationstore.SignatureLog: the signatures
// made under versions before `before`, as their log leaves record them,
// for an exact revocation-list entry. The signatures table only finds the
// candidates; each one's archive digest, signature, key version and time
// are taken from its leaf, so a row a database administrator added or
// edited never reaches a signed list: a row whose leaf disagrees refuses
// the publication, a row without a leaf is left out. A leaf logged after
// the revocation's first event is left out too, whatever signing time it
// claims: no signature the key made before T can be logged after T was
// decided, so such a leaf can only be a late (or forged) one.
func (l revocationLog) SignaturesBefore(ctx context.Context, tx pgx.Tx, revocationID int64, versions []revocationstore.SignedCert, before time.Time) ([]revocationstore.LoggedSignature, error) {
	bound, err := revocationFirstLeaf(ctx, tx, revocationID)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(versions))
	names, vs := make([]string, len(versions)), make([]int32, len(versions))
	for i, v := range versions {
		names[i], vs[i] = v.KeyID, v.KeyVersion
		want[fmt.Sprintf("%s\x00%d", v.KeyID, v.KeyVersion)] = true
	}
	rows, err := tx.Query(ctx, `SELECT s.id, l.idx, l.kind, l.payload FROM signatures s
		JOIN unnest($1::text[], $2::int[]) AS k(name, version) ON s.key_id = k.name AND s.key_version = k.version
		JOIN log_leaves l ON l.idx = s.log_index
		WHERE s.signed_at < $3 AND l.idx < $4 ORDER BY s.id`, names, vs, before, bound)
	if err != nil {
		return nil, wrap("read signatures before a revocation", err)
	}
	var out []revocationstore.LoggedSignature
	var id, idx int64
	var kind string
	var payload []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &idx, &kind, &payload}, func() error {
		e, err := signatureLeaf(kind, payload)
		if err != nil || e.ID != id {
			return fmt.Errorf("ledger entry %d does not match its log leaf %d (%v): run signerctl ledger verify", id, idx, err)
		}
		if !want[fmt.Sprintf("%s\x00%d", e.KeyID, e.KeyVersion)] || !e.SignedAt.Before(before) {
			return fmt.Errorf("ledger entry %d: its log leaf %d records key %s v%d at %s, not what the table says: run signerctl ledger verify",
				id, idx, e.KeyID, e.KeyVersion, e.SignedAt.Format(time.RFC3339Nano))
		}
		out = append(out, revocationstore.LoggedSignature{EntryID: id, SHA256: e.SHA256, Signature: e.Signature})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: signatures before revocation %d: %w", revocationID, err)
	}
	return out, nil
}

// signatureLeaf decodes a signature leaf from its kind and payload.
func signatureLeaf(kind string, payload []byte) (Entry, error) {
	if kind != translog.KindSignature {
		return Entry{}, fmt.Errorf("a %s leaf, not a signature", kind)
	}
	return DecodeSignature(payload)
}

// revocationFirstLeaf is the index of the first revocation leaf that
// names revocationID. The revocation must be logged: a revocations row
// the log does not hold has no place in a list (CheckInForce says so too).
func revocationFirstLeaf(ctx context.Context, tx pgx.Tx, revocationID int64) (int64, error) {
	rows, err := tx.Query(ctx, `SELECT idx, payload FROM log_leaves WHERE kind = 'revocation' ORDER BY idx`)
	if err != nil {
		return 0, wrap("read revocation leaves", err)
	}
	first := int64(-1)
	var idx int64
	var payload []byte
	_, err = pgx.ForEachRow(rows, []any{&idx, &payload}, func() error {
		if first >= 0 {
			return nil
		}
		ev, err := DecodeEvent(translog.KindRevocation, payload)
		if err != nil || ev.Action == "published" { // CheckInForce names undecodable leaves
			return nil
		}
		var d RevocationDetail
		if strictJSON(ev.Detail, &d) == nil && d.RevocationID == revocationID {
			first = idx
		}
		return nil
	})
	if err != nil {
		return 0, wrap("read revocation leaves", err)
	}
	if first < 0 {
		return 0, fmt.Errorf("ledger: revocation %d is not in the log", revocationID)
	}
	return first, nil
}
