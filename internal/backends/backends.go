package backends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/sealedkms"
	"github.com/appsign/signer/internal/kms/softkms"
)

// ErrNone is returned when the section configures no backend.
var ErrNone = errors.New("backends: no key backend configured")

// Hooks are the optional callbacks Open wires into the backends, for
// metrics (metrics.Metrics.OnFault and BackendRetry).
type Hooks struct {
	// OnFault is called for every signature that fails verify-after-sign.
	OnFault func(kms.URI)
	// OnRetry is called for every retry of a backend call after a
	// transient failure (a throttled or failed KMS call, a lost PKCS#11
	// session), with the backend's scheme.
	OnRetry func(scheme string)
}

// Open registers one backend per configured section of b. Backends log
// their warnings (retries, session recovery) to log, which may be nil.
// The caller closes the registry, which closes every backend; on error
// every backend opened so far is closed.
func Open(ctx context.Context, b config.Backends, log *slog.Logger, hooks Hooks) (*kms.Registry, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var opened []kms.Backend
	fail := func(err error) (*kms.Registry, error) {
		for _, be := range opened {
			_ = be.Close()
		}
		return nil, err
	}
	if s := b.Soft; s != nil {
		opened = append(opened, softkms.New(softkms.Options{Dir: s.Dir, PassphraseFile: s.PassphraseFile, PassphraseEnv: s.PassphraseEnv}))
	}
	if a := b.AWS; a != nil {
		client, err := awskms.NewClient(ctx, awskms.ClientConfig{Region: a.Region, Profile: a.Profile, BaseEndpoint: a.Endpoint})
		if err != nil {
			return fail(fmt.Errorf("backends.awskms: %w", err))
		}
		be, err := awskms.New(awskms.Options{Client: client, Log: log, Retry: awscall.Policy{OnRetry: hooks.retry(awskms.Scheme)}})
		if err != nil {
			return fail(fmt.Errorf("backends.awskms: %w", err))
		}
		opened = append(opened, be)
	}
	if s := b.Sealed; s != nil {
		client, err := awskms.NewClient(ctx, awskms.ClientConfig{Region: s.Region, Profile: s.Profile, BaseEndpoint: s.Endpoint})
		if err != nil {
			return fail(fmt.Errorf("backends.sealedkms: %w", err))
		}
		be, err := sealedkms.New(sealedkms.Options{
			Client: client, KEK: s.KEK, Environment: s.Environment, Dir: s.Dir,
			RecheckInterval: time.Duration(s.RecheckInterval), Log: log, Retry: awscall.Policy{OnRetry: hooks.retry(sealedkms.Scheme)},
		})
		if err != nil {
			return fail(fmt.Errorf("backends.sealedkms: %w", err))
		}
		opened = append(opened, be)
	}
	if p := b.PKCS11; p != nil {
		be, err := pkcs11kms.New(ctx, pkcs11kms.Options{
			ModulePath: p.Module, TokenLabel: p.Token, PINFile: p.PINFile, PINEnv: p.PINEnv,
			PoolSize: p.PoolSize, MaxMessage: p.MaxMessage, Log: log, OnRetry: hooks.retry(pkcs11kms.Scheme),
		})
		if err != nil {
			return fail(fmt.Errorf("backends.pkcs11: %w", err))
		}
		opened = append(opened, be)
	}
	if len(opened) == 0 {
		return nil, ErrNone
	}
	reg, err := kms.NewRegistry(opened...)
	if err != nil {
		return fail(err)
	}
	reg.OnFault = hooks.OnFault
	return reg, nil
}

// retry returns a backend's retry hook reporting scheme, or nil.
func (h Hooks) retry(scheme string) func(op string) {
	if h.OnRetry == nil {
		return nil
	}
	return func(string) { h.OnRetry(scheme) }
}
