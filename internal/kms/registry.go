package kms

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Registry maps URI schemes to backends. Build one in main and pass it down.
type Registry struct {
	// OnFault, if set, is called for every signature that failed verify-after-sign.
	OnFault func(URI)

	mu       sync.RWMutex
	backends map[string]Backend
}

// NewRegistry returns a registry holding the given backends.
func NewRegistry(backends ...Backend) (*Registry, error) {
	r := &Registry{backends: map[string]Backend{}}
	for _, b := range backends {
		if err := r.Register(b); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds b; a second backend for the same scheme is an error.
func (r *Registry) Register(b Backend) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.backends[b.Scheme()]; dup {
		return fmt.Errorf("kms: backend for scheme %q registered twice", b.Scheme())
	}
	r.backends[b.Scheme()] = b
	return nil
}

// Backend returns the backend for scheme.
func (r *Registry) Backend(scheme string) (Backend, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b, ok := r.backends[scheme]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownBackend, scheme)
	}
	return b, nil
}

// Schemes lists the registered schemes in order.
func (r *Registry) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.backends))
	for s := range r.backends {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// LoadSigner loads the key named by uri from its backend and wraps it so
// that every signature is verified in software before it is returned.
func (r *Registry) LoadSigner(ctx context.Context, uri URI) (Signer, error) {
	b, err := r.Backend(uri.Scheme)
	if err != nil {
		return nil, err
	}
	s, err := b.LoadSigner(ctx, uri)
	if err != nil {
		return nil, err
	}
	return Verified(s, r.OnFault), nil
}

// CheckHealth asks every backend that can tell whether it is healthy.
func (r *Registry) CheckHealth(ctx context.Context) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var errs []error
	for _, b := range r.backends {
		if hc, ok := b.(HealthChecker); ok {
			if err := hc.CheckHealth(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", b.Scheme(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Close closes every backend.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, b := range r.backends {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}
