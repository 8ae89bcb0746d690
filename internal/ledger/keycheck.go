package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrKeyVersionRevoked means the key version an entry was signed with is
// revoked in the keystore: the signature is refused and nothing recorded.
var ErrKeyVersionRevoked = errors.New("ledger: key version revoked")

// RevokedKeyError is Record's refusal of a signature made with a revoked
// key version. errors.Is(err, ErrKeyVersionRevoked) holds for it.
type RevokedKeyError struct {
	KeyID      string
	KeyVersion int32
}

func (e *RevokedKeyError) Error() string {
	return fmt.Sprintf("key %s version %d is revoked", e.KeyID, e.KeyVersion)
}

// Is makes errors.Is(err, ErrKeyVersionRevoked) true.
func (e *RevokedKeyError) Is(target error) bool { return target == ErrKeyVersionRevoked }

// checkKeyVersion refuses a revoked key version. It runs in the append
// transaction, after the log head is locked, so it reads every revocation
// committed before this entry's leaf. Key IDs the keystore does not hold
// (static dev keys, tests) have no state to check.
func checkKeyVersion(ctx context.Context, tx pgx.Tx, keyID string, version int32) error {
	var revoked bool
	err := tx.QueryRow(ctx, `SELECT state = 'revoked' FROM key_versions WHERE name = $1 AND version = $2`,
		keyID, version).Scan(&revoked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	case revoked:
		return &RevokedKeyError{KeyID: keyID, KeyVersion: version}
	}
	return nil
}
