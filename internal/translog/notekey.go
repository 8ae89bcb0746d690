package translog

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/appsign/signer/internal/kms"
)

// VerifierKey returns the note verifier key ("<name>+<hash>+<key>") of an
// Ed25519 ledger key, to publish to auditors and to pass to
// note.NewVerifier. The name of a checkpoint key is the log's origin.
func VerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return "", fmt.Errorf("translog: verifier key: %w", err)
	}
	return vkey, nil
}

// NoteVerifier returns the note.Verifier of an Ed25519 ledger key.
func NoteVerifier(name string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("translog: verifier: %w", err)
	}
	return v, nil
}

// NoteSigner adapts a kms.Signer to note.Signer under the key name name,
// with the key hash note's Ed25519 verifier keys use, so note.Open accepts
// its signatures with NoteVerifier(name, s.Public()).
//
// note.Signer's Sign takes no context: the adapter uses ctx for every
// signature, so make one per signing operation. Every signature is checked
// against s.Public() before use (kms.Verified).
func NoteSigner(ctx context.Context, name string, s kms.Signer) (note.Signer, error) {
	v, err := NoteVerifier(name, s.Public())
	if err != nil {
		return nil, err
	}
	return &noteSigner{ctx: ctx, name: name, hash: v.KeyHash(), s: kms.Verified(s, nil)}, nil
}

type noteSigner struct {
	ctx  context.Context
	name string
	hash uint32
	s    kms.Signer
}

func (n *noteSigner) Name() string    { return n.name }
func (n *noteSigner) KeyHash() uint32 { return n.hash }

func (n *noteSigner) Sign(msg []byte) ([]byte, error) {
	sig, err := n.s.SignMessage(n.ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("translog: sign checkpoint with %s: %w", n.s.URI(), err)
	}
	return sig, nil
}
