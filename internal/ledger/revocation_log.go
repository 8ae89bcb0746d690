package ledger

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/translog"
)

// RevocationStoreOptions returns the revocationstore.Options that log
// every revocation event, issued vendor certificate and published list or
// CRL in the transaction of its rows, and refuse to publish from
// revocations rows the log does not prove; revoke (may be nil) is its
// RevokeVersions.
func (s *Store) RevocationStoreOptions(revoke revocationstore.VersionRevoker) revocationstore.Options {
	return revocationstore.Options{Hook: s.RevocationEventHook(), Log: revocationLog{s}, RevokeVersions: revoke}
}

// revocationLog implements revocationstore.Log.
type revocationLog struct{ s *Store }

func (l revocationLog) VendorCertificateIssued(ctx context.Context, tx pgx.Tx, v revocationstore.IssuedVendorCertificate) error {
	_, err := l.s.AppendEventTx(ctx, tx, VendorCertificateEvent(v))
	return err
}

// LockForPublish takes the log's sequencer lock (the log_head row) in tx:
// every revocation logged before the publication has committed, and none
// can be logged until it commits.
func (l revocationLog) LockForPublish(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM log_head FOR UPDATE`); err != nil {
		return wrap("lock the log for publishing", err)
	}
	return nil
}

func (l revocationLog) Published(ctx context.Context, tx pgx.Tx, p revocationstore.PublishedDocument) error {
	_, err := l.s.AppendEventTx(ctx, tx, PublicationEvent(p, p.IssuedAt))
	return err
}

// CheckInForce recomputes the revocations table from the revocation
// leaves in the database and compares revs with it. It reads the leaves
// the database holds; that they are the leaves the signed checkpoints
// prove is `ledger verify`'s to check.
func (l revocationLog) CheckInForce(ctx context.Context, tx pgx.Tx, revs []revocationstore.Revocation) error {
	rows, err := tx.Query(ctx, `SELECT idx, payload FROM log_leaves WHERE kind = 'revocation' ORDER BY idx`)
	if err != nil {
		return wrap("read revocation leaves", err)
	}
	p := newRevocationsProjection()
	var findings []Finding
	var idx int64
	var payload []byte
	_, err = pgx.ForEachRow(rows, []any{&idx, &payload}, func() error {
		ev, err := DecodeEvent(translog.KindRevocation, payload)
		if err != nil {
			findings = append(findings, Finding{Index: idx, Problem: err.Error()})
			return nil
		}
		if f := p.Event(idx, ev); f != "" {
			findings = append(findings, Finding{Index: idx, Problem: f})
		}
		return nil
	})
	if err != nil {
		return wrap("read revocation leaves", err)
	}
	got := make([]Row, 0, len(revs))
	for _, r := range revs {
		got = append(got, RevocationRow(r))
	}
	findings = append(findings, CompareRows(TableRevocations, p.tables()[TableRevocations], got)...)
	if len(findings) == 0 {
		return nil
	}
	return &FindingsError{Findings: findings}
}

// RevocationRow is the canonical projection row of a revocations row.
func RevocationRow(r revocationstore.Revocation) Row {
	return Row{Table: TableRevocations, Key: strconv.FormatInt(r.ID, 10), Cols: map[string]string{
		"kind": string(r.Kind), "target": RevocationTarget(r), "archive_sha256": r.ArchiveSHA256,
		"ledger_entry_id": idOrEmpty(r.LedgerEntryID), "issuer": r.Issuer, "serial": r.Serial, "fingerprint": r.Fingerprint,
		"subject": r.Subject, "reason": string(r.Reason), "effective_from": formatTime(r.EffectiveFrom),
		"revoked_at": formatTime(r.RevokedAt), "revoked_by": r.RevokedBy,
	}}
}

func idOrEmpty(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// parseLoggedTime reads a time a leaf's detail wrote, in the payload
// layout or RFC 3339 (older revocation details); "" is the zero time.
func parseLoggedTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}
