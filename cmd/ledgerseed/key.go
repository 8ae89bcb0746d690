package main

import (
	"context"
	"crypto/ed25519"

	"golang.org/x/mod/sumdb/note"

	"github.com/appsign/signer/internal/kms"
)

// memKey is the benchmark's in-memory ledger key.
type memKey struct{ priv ed25519.PrivateKey }

func (k memKey) URI() kms.URI              { return kms.URI{Scheme: "memory"} }
func (k memKey) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k memKey) Limits() kms.Limits        { return kms.Limits{MaxMessage: kms.Unlimited} }
func (k memKey) Close() error              { return nil }
func (k memKey) SignMessage(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, msg), nil
}

func noteList(v note.Verifier) note.Verifiers { return note.VerifierList(v) }
