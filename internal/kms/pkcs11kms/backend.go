package pkcs11kms

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

// Backend serves the Ed25519 keys of one token.
type Backend struct {
	opts Options
	p    *pool

	createMu sync.Mutex // makes "refuse an existing label" atomic within the process
}

var (
	_ kms.KeyCreator    = (*Backend)(nil)
	_ kms.KeyDestroyer  = (*Backend)(nil)
	_ kms.HealthChecker = (*Backend)(nil)
)

// New loads the module (or shares it with the process's other backends),
// finds the token, reads the PIN and logs in, so that a wrong module path,
// token label or PIN fails here. Close releases it all.
func New(ctx context.Context, opts Options) (*Backend, error) {
	return open(ctx, opts, nil)
}

// open is New with a hook that wraps the module's API (tests inject faults).
func open(ctx context.Context, opts Options, wrap func(cryptoki) cryptoki) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	pin, err := opts.readPIN()
	if err != nil {
		return nil, err
	}
	m, err := openModule(opts.ModulePath, opts.TokenLabel)
	if err != nil {
		return nil, err
	}
	var api cryptoki = m.ctx
	if wrap != nil {
		api = wrap(api)
	}
	p := newPool(m, api, opts.TokenLabel, pin, opts.PoolSize, opts.Log, opts.OnRetry)
	if err := p.start(); err != nil {
		_ = p.close()
		return nil, fmt.Errorf("pkcs11: open token %q: %w", opts.TokenLabel, sentinel(err))
	}
	return &Backend{opts: opts, p: p}, nil
}

// Scheme implements kms.Backend.
func (b *Backend) Scheme() string { return Scheme }

// LoadSigner finds the key pair, reads its public key and checks with one
// test signature that the token signs with pure Ed25519 under that public
// key (kms.ErrBackendFault otherwise).
func (b *Backend) LoadSigner(ctx context.Context, uri kms.URI) (kms.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ref, err := parseKeyURI(uri, b.opts.TokenLabel)
	if err != nil {
		return nil, err
	}
	var (
		canon keyRef
		pub   ed25519.PublicKey
	)
	if err := b.p.do(ctx, func(c call) (err error) {
		canon, pub, err = ref.describe(c)
		return err
	}); err != nil {
		return nil, fmt.Errorf("pkcs11: load %s: %w", uri, err)
	}
	s := &Signer{p: b.p, ref: canon, uri: canon.uri(), pub: pub, max: b.opts.MaxMessage}
	probe := []byte("pkcs11kms self-test")
	sig, err := s.sign(ctx, probe)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: load %s: self-test: %w", uri, err)
	}
	if !ed25519.Verify(pub, probe, sig) {
		return nil, fmt.Errorf("pkcs11: load %s: %w: the token's signature does not verify under the key's public key object", uri, kms.ErrBackendFault)
	}
	return s, nil
}

// CheckHealth implements kms.HealthChecker: it borrows a session, checks it
// is logged in and reads the token information. A lost session or device is
// recovered from as for signing.
func (b *Backend) CheckHealth(ctx context.Context) error {
	err := b.p.do(ctx, func(c call) error {
		si, err := c.api.GetSessionInfo(c.sh)
		if err != nil {
			return fmt.Errorf("session info: %w", err)
		}
		if si.State != pkcs11.CKS_RW_USER_FUNCTIONS && si.State != pkcs11.CKS_RO_USER_FUNCTIONS {
			return pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)
		}
		ti, err := c.api.GetTokenInfo(c.slot)
		if err != nil {
			return fmt.Errorf("token info: %w", err)
		}
		if ti.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0 {
			return fmt.Errorf("%w: the user PIN is locked", kms.ErrPermission)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pkcs11: health of token %q: %w", b.opts.TokenLabel, err)
	}
	return nil
}

// Close implements kms.Backend: it waits for operations in flight, closes
// the sessions, logs out when this is the token's last backend in the
// process and finalizes the module when it is the module's last. Closing
// twice is not an error; signers of a closed backend return kms.ErrClosed.
func (b *Backend) Close() error {
	return b.p.close()
}
