package server

import (
	"context"
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

// Lookup implements KeySource.
func (k StoreKeys) Lookup(ctx context.Context, id string, version int32) (*SigningKey, error) {
	if id != k.Name {
		return nil, fmt.Errorf("server: %w: key %s", kms.ErrKeyNotFound, id)
	}
	l, err := k.Store.Lookup(ctx, id, version)
	if err != nil {
		return nil, err
	}
	return loadedKey(l), nil
}

func loadedKey(l *keystore.Loaded) *SigningKey {
	return &SigningKey{ID: l.Name, Version: l.Version.Version, Signer: l.Signer, Cert: l.Cert}
}
