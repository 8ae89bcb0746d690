package pkcs11kms

import (
	"context"
	"fmt"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

// Hooks for the external tests (which cannot be internal: softhsmtest
// imports this package).

// Faults makes the next module Sign calls fail with queued return values,
// as a failing token would.
type Faults struct {
	cryptoki
	mu   sync.Mutex
	errs []error
}

// Fail queues return values for the next Sign calls.
func (f *Faults) Fail(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, errs...)
}

// Reset drops queued failures and reports how many were not reached.
func (f *Faults) Reset() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.errs)
	f.errs = nil
	return n
}

func (f *Faults) Sign(sh pkcs11.SessionHandle, msg []byte) ([]byte, error) {
	f.mu.Lock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	return f.cryptoki.Sign(sh, msg)
}

// OpenFaulty is New with fault injection.
func OpenFaulty(ctx context.Context, opts Options) (*Backend, *Faults, error) {
	var f *Faults
	b, err := open(ctx, opts, func(api cryptoki) cryptoki {
		f = &Faults{cryptoki: api}
		return f
	})
	return b, f, err
}

// ModuleGeneration counts the module's re-initializations.
func ModuleGeneration(b *Backend) uint64 {
	b.p.m.mu.RLock()
	defer b.p.m.mu.RUnlock()
	return b.p.m.gen
}

// HoldSession takes one of the pool's sessions until release is called.
func HoldSession(b *Backend) (release func()) {
	b.p.tokens <- struct{}{}
	return func() { <-b.p.tokens }
}

// SetPIN replaces the PIN the pool logs in with.
func SetPIN(b *Backend, pin string) { b.p.pin = pin }

// PrivateKeyAttributes reads attributes of the private key uri names, and
// the error of reading its CKA_VALUE.
func PrivateKeyAttributes(ctx context.Context, b *Backend, uri kms.URI, types ...uint) (map[uint][]byte, error, error) {
	ref, err := parseKeyURI(uri, b.opts.TokenLabel)
	if err != nil {
		return nil, nil, err
	}
	out := map[uint][]byte{}
	var valueErr error
	err = b.p.do(ctx, func(c call) error {
		h, err := ref.findOne(c, pkcs11.CKO_PRIVATE_KEY)
		if err != nil {
			return err
		}
		var q []*pkcs11.Attribute
		for _, t := range types {
			q = append(q, pkcs11.NewAttribute(t, nil))
		}
		got, err := c.api.GetAttributeValue(c.sh, h, q)
		if err != nil {
			return err
		}
		for _, a := range got {
			out[a.Type] = a.Value
		}
		_, valueErr = c.api.GetAttributeValue(c.sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		return nil
	})
	return out, valueErr, err
}

// ForbidSigning sets CKA_SIGN to false on the private key uri names, as
// a token administrator withdrawing the key's use would.
func ForbidSigning(ctx context.Context, b *Backend, uri kms.URI) error {
	ref, err := parseKeyURI(uri, b.opts.TokenLabel)
	if err != nil {
		return err
	}
	return b.p.do(ctx, func(c call) error {
		h, err := ref.findOne(c, pkcs11.CKO_PRIVATE_KEY)
		if err != nil {
			return err
		}
		set, ok := c.api.(interface {
			SetAttributeValue(pkcs11.SessionHandle, pkcs11.ObjectHandle, []*pkcs11.Attribute) error
		})
		if !ok {
			return fmt.Errorf("%T cannot set attributes", c.api)
		}
		return set.SetAttributeValue(c.sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_SIGN, false)})
	})
}
