package ledger

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/translog"
)

// KeyEventHook returns a keystore.Options.OnEvent that logs every key event
// (created, imported, rotated, retired, revoked) as a translog.KindKey leaf
// inside the keystore's own transaction: the key change and its leaf
// commit together. Subject is "key <name> v<version>"; Detail is a
// KeyDetail: the event's keystore.EventDetail (role, backend URI, public
// key, certificate serial and SHA-256, the versions it replaces or is
// replaced by), the key_events row id and, for a version being added, its
// created_at. A version added with a certificate also gets a
// translog.KindCertificate leaf holding the whole certificate.
func (s *Store) KeyEventHook() func(ctx context.Context, tx pgx.Tx, ev keystore.Event) error {
	return func(ctx context.Context, tx pgx.Tx, ev keystore.Event) error {
		var createdAt time.Time
		var der []byte
		adds := ev.Kind == keystore.EventCreated || ev.Kind == keystore.EventImported || ev.Kind == keystore.EventRotated
		if adds {
			// The version's row is written before its events, in tx.
			if err := tx.QueryRow(ctx, `SELECT created_at, certificate FROM key_versions WHERE name = $1 AND version = $2`,
				ev.Name, ev.Version).Scan(&createdAt, &der); err != nil {
				return wrap(fmt.Sprintf("read key %s v%d for its leaf", ev.Name, ev.Version), err)
			}
		}
		kev := KeyEvent(ev)
		if adds {
			kev.Detail = KeyDetail{EventID: ev.ID, EventDetail: ev.Detail, CreatedAt: formatTime(createdAt)}
		}
		if _, err := s.AppendEventTx(ctx, tx, kev); err != nil {
			return err
		}
		if der == nil {
			return nil
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("ledger: key %s v%d: certificate: %w", ev.Name, ev.Version, err)
		}
		_, err = s.AppendEventTx(ctx, tx, SigningCertificateEvent(ev.Name, ev.Version, c, ev.Actor, ev.At))
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
		Detail:  KeyDetail{EventID: ev.ID, EventDetail: ev.Detail},
	}
}
