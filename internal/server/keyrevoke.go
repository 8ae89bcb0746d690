package server

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/revocationstore"
)

// KeyVersionRevoker connects revocations to the keystore: every key
// version whose certificate a key or certificate revocation matches is
// marked revoked in the revocation's own transaction, so that no replica
// can record another signature with it (ledger.Store.Record checks the
// state) from the moment the revocation commits.
func KeyVersionRevoker(keys *keystore.Store) revocationstore.VersionRevoker {
	return func(ctx context.Context, tx pgx.Tx, versions []revocationstore.SignedCert, r revocationstore.Revocation, actor string) error {
		refs := make([]keystore.VersionRef, len(versions))
		for i, v := range versions {
			refs[i] = keystore.VersionRef{Name: v.KeyID, Version: v.KeyVersion}
		}
		return keys.RevokeTx(ctx, tx, refs, keystore.RevokeInfo{
			RevocationID: r.ID, Reason: string(r.Reason), EffectiveFrom: r.EffectiveFrom, Actor: actor,
		})
	}
}
