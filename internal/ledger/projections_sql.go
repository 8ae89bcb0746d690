package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/revocationstore"
)

// Projections is the database's side of the tables the log determines.
type Projections struct {
	// Tables holds every table in ProjectedTables by name.
	Tables map[string][]Row
	// LogSize is the log's sequenced size in the same snapshot: every
	// event that wrote these rows has a leaf below it, and no later one
	// changed them.
	LogSize int64
}

// ReadProjections reads every table in ProjectedTables as it is now, in
// the canonical form Projector recomputes (approvals: the used rows only),
// with the log's size, in one repeatable-read snapshot. Revocation lists
// carry their envelope in Row.Data.
func (s *Store) ReadProjections(ctx context.Context) (Projections, error) {
	var out Projections
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		out, err = ReadProjectionsTx(ctx, tx)
		return err
	})
	if err != nil {
		return Projections{}, wrap("read projections", err)
	}
	return out, nil
}

// ReadProjectionsTx is ReadProjections inside the caller's transaction
// (repeatable read, for a consistent answer).
func ReadProjectionsTx(ctx context.Context, tx pgx.Tx) (Projections, error) {
	out := Projections{Tables: map[string][]Row{}}
	if err := tx.QueryRow(ctx, `SELECT tree_size FROM log_head`).Scan(&out.LogSize); err != nil {
		return Projections{}, fmt.Errorf("ledger: read log size: %w", err)
	}
	for _, r := range projectionReaders {
		rows, err := r.read(ctx, tx)
		if err != nil {
			return Projections{}, fmt.Errorf("ledger: read %s: %w", r.table, err)
		}
		out.Tables[r.table] = rows
	}
	return out, nil
}

type projectionReader struct {
	table string
	read  func(ctx context.Context, tx pgx.Tx) ([]Row, error)
}

var projectionReaders = []projectionReader{
	{TableKeys, readKeys},
	{TableKeyVersions, readKeyVersions},
	{TableKeyEvents, readKeyEvents},
	{TableVendorCertificates, readVendorCertificates},
	{TableRevocations, readRevocations},
	{TableRevocationEvents, readRevocationEvents},
	{TableRevocationLists, readRevocationLists},
	{TableCRLs, readCRLs},
	{TableApprovals, readApprovals},
}

// collect scans every row of query with scan.
func collect(ctx context.Context, tx pgx.Tx, query string, scan func(pgx.CollectableRow) (Row, error)) ([]Row, error) {
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

func row(table, key string, cols map[string]string) Row {
	return Row{Table: table, Key: key, Cols: cols, Index: -1}
}

func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

func sha256Hex(b []byte) string {
	if b == nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func readKeys(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT name, role, created_at, created_by FROM keys ORDER BY created_at, name`, func(r pgx.CollectableRow) (Row, error) {
		var name, role, by string
		var at time.Time
		err := r.Scan(&name, &role, &at, &by)
		return row(TableKeys, name, map[string]string{"role": role, "created_at": formatTime(at), "created_by": by}), err
	})
}

func readKeyVersions(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT name, version, backend_uri, public_key, certificate, state, created_at, activated_at, retired_at, actor
		FROM key_versions ORDER BY name, version`, func(r pgx.CollectableRow) (Row, error) {
		var name, uri, state, actor string
		var version int32
		var pub, der []byte
		var created, activated time.Time
		var retired *time.Time
		err := r.Scan(&name, &version, &uri, &pub, &der, &state, &created, &activated, &retired, &actor)
		return row(TableKeyVersions, fmt.Sprintf("%s v%d", name, version), map[string]string{
			"backend_uri": uri, "public_key": hex.EncodeToString(pub), "certificate_sha256": sha256Hex(der), "state": state,
			"created_at": formatTime(created), "activated_at": formatTime(activated), "retired_at": optTime(retired), "actor": actor}), err
	})
}

func readKeyEvents(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT id, name, version, event, actor, at, detail FROM key_events ORDER BY id`, func(r pgx.CollectableRow) (Row, error) {
		var id int64
		var name, event, actor string
		var version int32
		var at time.Time
		var raw []byte
		if err := r.Scan(&id, &name, &version, &event, &actor, &at, &raw); err != nil {
			return Row{}, err
		}
		var d keystore.EventDetail
		detail := string(raw)
		if err := json.Unmarshal(raw, &d); err == nil {
			detail = canonicalKeyDetail(d)
		}
		return row(TableKeyEvents, strconv.FormatInt(id, 10), map[string]string{"name": name, "version": strconv.Itoa(int(version)),
			"event": event, "actor": actor, "at": formatTime(at), "detail": detail}), nil
	})
}

func readVendorCertificates(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT serial, vendor, caller, app_keys, fingerprint, not_before, not_after, certificate, issued_at
		FROM vendor_certificates ORDER BY issued_at, serial`, func(r pgx.CollectableRow) (Row, error) {
		var serial, vendor, caller, fp string
		var keys []string
		var nb, na, at time.Time
		var der []byte
		err := r.Scan(&serial, &vendor, &caller, &keys, &fp, &nb, &na, &der, &at)
		return row(TableVendorCertificates, serial, map[string]string{"vendor": vendor, "caller": caller, "app_keys": strings.Join(keys, ","),
			"fingerprint": fp, "not_before": formatTime(nb), "not_after": formatTime(na), "certificate_sha256": sha256Hex(der),
			"issued_at": formatTime(at)}), err
	})
}

func readRevocations(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT id, kind, coalesce(archive_sha256, ''), coalesce(ledger_entry_id, 0), coalesce(issuer, ''),
		coalesce(serial, ''), coalesce(fingerprint, ''), subject, reason, effective_from, revoked_at, revoked_by, target
		FROM revocations ORDER BY id`, func(r pgx.CollectableRow) (Row, error) {
		var rv revocationstore.Revocation
		var eff *time.Time
		var target string
		err := r.Scan(&rv.ID, &rv.Kind, &rv.ArchiveSHA256, &rv.LedgerEntryID, &rv.Issuer, &rv.Serial, &rv.Fingerprint,
			&rv.Subject, &rv.Reason, &eff, &rv.RevokedAt, &rv.RevokedBy, &target)
		if eff != nil {
			rv.EffectiveFrom = *eff
		}
		out := RevocationRow(rv)
		out.Cols["target"], out.Index = target, -1 // the stored target, not the one derived from its parts
		return out, err
	})
}

func readRevocationEvents(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT id, revocation_id, action, reason, effective_from, affected_entry_ids, actor, at
		FROM revocation_events ORDER BY id`, func(r pgx.CollectableRow) (Row, error) {
		var id, rid int64
		var action, reason, actor string
		var eff *time.Time
		var ids []int64
		var at time.Time
		err := r.Scan(&id, &rid, &action, &reason, &eff, &ids, &actor, &at)
		s := make([]string, len(ids))
		for i, v := range ids {
			s[i] = strconv.FormatInt(v, 10)
		}
		return row(TableRevocationEvents, strconv.FormatInt(id, 10), map[string]string{"revocation_id": strconv.FormatInt(rid, 10),
			"action": action, "reason": reason, "effective_from": optTime(eff), "affected_entry_ids": strings.Join(s, ","),
			"actor": actor, "at": formatTime(at)}), err
	})
}

func readRevocationLists(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT version, issued_at, next_update, envelope, published_by FROM revocation_lists ORDER BY version`, func(r pgx.CollectableRow) (Row, error) {
		var version int64
		var issued, next time.Time
		var env []byte
		var by string
		err := r.Scan(&version, &issued, &next, &env, &by)
		out := row(TableRevocationLists, strconv.FormatInt(version, 10), map[string]string{"issued_at": formatTime(issued),
			"next_update": formatTime(next), "sha256": sha256Hex(env), "published_by": by})
		out.Data = env
		return out, err
	})
}

func readCRLs(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT ca, number, issued_at, next_update, der, issued_by FROM crls ORDER BY ca, number`, func(r pgx.CollectableRow) (Row, error) {
		var ca, by string
		var number int64
		var issued, next time.Time
		var der []byte
		err := r.Scan(&ca, &number, &issued, &next, &der, &by)
		return row(TableCRLs, ca+" #"+strconv.FormatInt(number, 10), map[string]string{"issued_at": formatTime(issued),
			"next_update": formatTime(next), "sha256": sha256Hex(der), "issued_by": by}), err
	})
}

func readApprovals(ctx context.Context, tx pgx.Tx) ([]Row, error) {
	return collect(ctx, tx, `SELECT id, action, target, reason, requested_by, requested_at, coalesce(approved_by, ''), approved_at, consumed_at
		FROM approvals WHERE consumed_at IS NOT NULL ORDER BY consumed_at, id`, func(r pgx.CollectableRow) (Row, error) {
		var id, action, target, reason, reqBy, apprBy string
		var reqAt time.Time
		var apprAt, used *time.Time
		err := r.Scan(&id, &action, &target, &reason, &reqBy, &reqAt, &apprBy, &apprAt, &used)
		return row(TableApprovals, id, map[string]string{"action": action, "target": target, "reason": reason, "requested_by": reqBy,
			"requested_at": formatTime(reqAt), "approved_by": apprBy, "approved_at": optTime(apprAt), "consumed_at": optTime(used)}), err
	})
}
