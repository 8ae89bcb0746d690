package sealedkms

import (
	"context"
	"errors"
	"fmt"
)

// CheckHealth implements kms.HealthChecker: it re-checks the KEK of every
// open signer now (a KMS Decrypt each) and fails if any of them may not
// sign. A passing check also lifts a suspension at once.
func (b *Backend) CheckHealth(ctx context.Context) error {
	b.mu.Lock()
	signers := make([]*Signer, 0, len(b.signers))
	for s := range b.signers {
		signers = append(signers, s)
	}
	b.mu.Unlock()
	var errs []error
	for _, s := range signers {
		if err := s.gate.refresh(ctx, true); err != nil {
			errs = append(errs, fmt.Errorf("sealedkms: %s: %w", s.uri, err))
		}
	}
	return errors.Join(errs...)
}
