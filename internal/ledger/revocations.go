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
	detail := struct {
		EventID          int64   `json:"event_id"`
		RevocationID     int64   `json:"revocation_id"`
		Reason           string  `json:"reason"`
		EffectiveFrom    string  `json:"effective_from,omitempty"`
		AffectedEntryIDs []int64 `json:"affected_entry_ids"`
	}{ev.ID, ev.RevocationID, string(ev.Reason), "", ev.AffectedEntryIDs}
	if !ev.EffectiveFrom.IsZero() {
		detail.EffectiveFrom = ev.EffectiveFrom.UTC().Format(time.RFC3339Nano)
	}
	if detail.AffectedEntryIDs == nil {
		detail.AffectedEntryIDs = []int64{}
	}
	return Event{Kind: translog.KindRevocation, Action: ev.Action, Subject: subject, Actor: ev.Actor, At: ev.At, Detail: detail}
}
