package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/translog"
)

// RevocationEventHook returns the revocationstore.Hook that logs every
// revocation event in the same transaction as its rows: a revocation is
// in force exactly when the log proves it.
func (s *Store) RevocationEventHook() revocationstore.Hook {
	return func(ctx context.Context, tx pgx.Tx, ev revocationstore.Event) error {
		_, err := s.AppendEventTx(ctx, tx, RevocationEvent(ev))
		return err
	}
}

// RevocationDetail is the detail of a revocation event leaf: the
// revocation_events row, and the revocations row as the event left it, so
// that `ledger verify` recomputes both tables from the log alone.
type RevocationDetail struct {
	EventID          int64   `json:"event_id"`
	RevocationID     int64   `json:"revocation_id"`
	Reason           string  `json:"reason"`
	EffectiveFrom    string  `json:"effective_from,omitempty"`
	AffectedEntryIDs []int64 `json:"affected_entry_ids"`
	// Revocation is absent from leaves logged before it was added.
	Revocation *RevocationState `json:"revocation,omitempty"`
}

// RevocationState is a revocations row in a leaf. Times use the payload
// layout; "" is NULL.
type RevocationState struct {
	Kind          string `json:"kind"`
	Target        string `json:"target"`
	ArchiveSHA256 string `json:"archive_sha256,omitempty"`
	LedgerEntryID int64  `json:"ledger_entry_id,omitempty"`
	Issuer        string `json:"issuer,omitempty"`
	Serial        string `json:"serial,omitempty"`
	Fingerprint   string `json:"fingerprint,omitempty"`
	Subject       string `json:"subject"`
	Reason        string `json:"reason"`
	EffectiveFrom string `json:"effective_from,omitempty"`
	RevokedAt     string `json:"revoked_at"`
	RevokedBy     string `json:"revoked_by"`
}

// RevocationTarget is the revocations.target of r: what the row's
// (kind, target) uniqueness is over.
func RevocationTarget(r revocationstore.Revocation) string {
	switch r.Kind {
	case revocationstore.KindArchive:
		return r.ArchiveSHA256
	case revocationstore.KindCertificate:
		return r.Issuer + "\x1f" + r.Serial
	}
	return r.Fingerprint
}

func revocationState(r revocationstore.Revocation) *RevocationState {
	return &RevocationState{
		Kind: string(r.Kind), Target: RevocationTarget(r), ArchiveSHA256: r.ArchiveSHA256, LedgerEntryID: r.LedgerEntryID,
		Issuer: r.Issuer, Serial: r.Serial, Fingerprint: r.Fingerprint, Subject: r.Subject, Reason: string(r.Reason),
		EffectiveFrom: formatTime(r.EffectiveFrom), RevokedAt: formatTime(r.RevokedAt), RevokedBy: r.RevokedBy,
	}
}

// RevocationEvent is the ledger event of a revocation event. Its detail
// lists the ledger signatures the revocation covers, so an auditor can
// check a revocation list against the log.
func RevocationEvent(ev revocationstore.Event) Event {
	r := ev.Revocation
	var subject string
	switch r.Kind {
	case revocationstore.KindArchive:
		subject = "archive " + r.ArchiveSHA256
	case revocationstore.KindCertificate:
		subject = fmt.Sprintf("certificate %s issuer %q", r.Serial, r.Issuer)
	case revocationstore.KindKey:
		subject = "key " + r.Fingerprint
	default:
		subject = fmt.Sprintf("%s %d", r.Kind, r.ID)
	}
	detail := RevocationDetail{EventID: ev.ID, RevocationID: ev.RevocationID, Reason: string(ev.Reason),
		AffectedEntryIDs: ev.AffectedEntryIDs, Revocation: revocationState(r)}
	if !ev.EffectiveFrom.IsZero() {
		detail.EffectiveFrom = ev.EffectiveFrom.UTC().Format(time.RFC3339Nano)
	}
	if detail.AffectedEntryIDs == nil {
		detail.AffectedEntryIDs = []int64{}
	}
	return Event{Kind: translog.KindRevocation, Action: ev.Action, Subject: subject, Actor: ev.Actor, At: ev.At, Detail: detail}
}
