package ledger

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/translog"
)

// KeyEventHook returns a keystore.Options.OnEvent that logs every key event
// (created, imported, rotated, retired, revoked) as a translog.KindKey leaf
// inside the keystore's own transaction: the key change and its leaf
// commit together. Subject is "key <name> v<version>"; Detail is the
// event's keystore.EventDetail (role, backend URI, public key, certificate
// serial and SHA-256, the versions it replaces or is replaced by) plus the
// key_events row id.
func (s *Store) KeyEventHook() func(ctx context.Context, tx pgx.Tx, ev keystore.Event) error {
	return func(ctx context.Context, tx pgx.Tx, ev keystore.Event) error {
		_, err := s.AppendEventTx(ctx, tx, KeyEvent(ev))
		return err
	}
}

// KeyEvent is the ledger event of a keystore event.
func KeyEvent(ev keystore.Event) Event {
	return Event{
		Kind:    translog.KindKey,
		Action:  string(ev.Kind),
		Subject: fmt.Sprintf("key %s v%d", ev.Name, ev.Version),
		Actor:   ev.Actor,
		At:      ev.At,
		Detail: struct {
			EventID int64 `json:"event_id"`
			keystore.EventDetail
		}{ev.ID, ev.Detail},
	}
}
