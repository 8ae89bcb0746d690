package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
)

// StoreKeys is the KeySource of a running service: the named key's active
// version in the keystore. A rotation (here or on another replica) changes
// what Active returns between two requests, never during one; Lookup finds
// retired versions so replays return their original certificate.
type StoreKeys struct {
	Store *keystore.Store
	Name  string
}

// Active implements KeySource.
func (k StoreKeys) Active(ctx context.Context) (*SigningKey, error) {
	l, err := k.Store.Active(ctx, k.Name)
	if err != nil {
		return nil, err
	}
	return loadedKey(l), nil
}

// Lookup implements KeySource. A revoked version comes back with its
// certificate and no Signer: a replay of a signature it made before its
// revocation took effect (one no revocation covers) still gets its
// certificate, and nothing can sign with it.
func (k StoreKeys) Lookup(ctx context.Context, id string, version int32) (*SigningKey, error) {
	if id != k.Name {
		return nil, fmt.Errorf("server: %w: key %s", kms.ErrKeyNotFound, id)
	}
	l, err := k.Store.Lookup(ctx, id, version)
	if errors.Is(err, keystore.ErrRevoked) {
		return k.revoked(ctx, id, version)
	}
	if err != nil {
		return nil, err
	}
	return loadedKey(l), nil
}

func loadedKey(l *keystore.Loaded) *SigningKey {
	return &SigningKey{ID: l.Name, Version: l.Version.Version, Signer: l.Signer, Cert: l.Cert}
}

// revoked returns the certificate of a revoked version, without a signer.
func (k StoreKeys) revoked(ctx context.Context, id string, version int32) (*SigningKey, error) {
	key, err := k.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, v := range key.Versions {
		if v.Version == version && v.Cert != nil {
			return &SigningKey{ID: id, Version: version, Cert: v.Cert}, nil
		}
	}
	return nil, fmt.Errorf("server: key %s version %d: %w", id, version, keystore.ErrRevoked)
}
