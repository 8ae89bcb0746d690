package keystore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// VersionRef names one key version.
type VersionRef struct {
	Name    string
	Version int32
}

// RevokeInfo says why versions are revoked; it goes into their key_events
// rows (and so into the log).
type RevokeInfo struct {
	// RevocationID is the revocations row that revokes the versions.
	RevocationID int64
	// Reason is the revocation reason (e.g. "key-compromise").
	Reason string
	// EffectiveFrom is when the revocation takes effect for signatures.
	EffectiveFrom time.Time
	Actor         string
}

// RevokeTx marks versions revoked inside tx, the transaction that records
// the revocation, appending a key_events row (and its Options.OnEvent
// leaf) for each and notifying the replicas. Versions already revoked are
// left as they are. A version that is the active one of its key is
// refused with ErrActiveVersion: the key must be rotated first, so that a
// revocation never leaves a key with nothing to sign with by surprise.
//
// The keys' rows are locked (as rotations lock them), so a concurrent
// rotation either commits first, and its retired version is revoked here,
// or waits for this transaction.
func (s *Store) RevokeTx(ctx context.Context, tx pgx.Tx, refs []VersionRef, info RevokeInfo) error {
	if err := checkActor(info.Actor); err != nil {
		return err
	}
	refs = slices.Clone(refs)
	slices.SortFunc(refs, func(a, b VersionRef) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	refs = slices.Compact(refs)
	now := s.now()
	eff := ""
	if !info.EffectiveFrom.IsZero() {
		eff = info.EffectiveFrom.UTC().Format(time.RFC3339Nano)
	}
	locked := map[string]bool{}
	for _, r := range refs {
		if !locked[r.Name] {
			// Lock order keys -> log head, as rotations take it.
			if _, err := tx.Exec(ctx, `SELECT 1 FROM keys WHERE name = $1 FOR UPDATE`, r.Name); err != nil {
				return wrap("revoke: lock key "+r.Name, err)
			}
			locked[r.Name] = true
		}
		v, err := readVersion(ctx, tx, r.Name, r.Version)
		if err != nil {
			return err
		}
		switch v.State {
		case StateRevoked:
			continue
		case StateActive:
			return &ActiveVersionError{Name: r.Name, Version: r.Version}
		}
		if _, err := tx.Exec(ctx, `UPDATE key_versions SET state = 'revoked' WHERE name = $1 AND version = $2`,
			r.Name, r.Version); err != nil {
			return wrap(fmt.Sprintf("revoke key %s version %d", r.Name, r.Version), err)
		}
		ev := Event{Name: r.Name, Version: r.Version, Kind: EventRevoked, Actor: info.Actor, At: now,
			Detail: EventDetail{RevocationID: info.RevocationID, Reason: info.Reason, EffectiveFrom: eff}}
		if err := s.appendEvent(ctx, tx, ev); err != nil {
			return err
		}
	}
	for name := range locked {
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, name); err != nil {
			return wrap("revoke: notify", err)
		}
	}
	return nil
}

// ActiveVersionError is RevokeTx's refusal to revoke the version a key
// signs with; errors.Is(err, ErrActiveVersion) holds for it.
type ActiveVersionError struct {
	Name    string
	Version int32
}

func (e *ActiveVersionError) Error() string {
	return fmt.Sprintf("keystore: key %s version %d is the active signing version: rotate the key first, then revoke", e.Name, e.Version)
}

// Is makes errors.Is(err, ErrActiveVersion) true.
func (e *ActiveVersionError) Is(target error) bool { return target == ErrActiveVersion }
