package pkcs11kms

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

// module is one loaded PKCS#11 library, shared by every backend of the
// process that names the same path. PKCS#11 allows one C_Initialize per
// process and C_Finalize ends every session of every caller, so the module
// is reference-counted and finalized only when its last backend closes.
type module struct {
	path string
	ctx  *pkcs11.Ctx

	// mu is held for reading around every call into the module and for
	// writing while the module is re-initialized, so no call is in flight
	// across C_Finalize.
	mu sync.RWMutex
	// gen counts re-initializations; sessions and slot IDs of an older
	// generation are gone. Guarded by mu.
	gen uint64
	// owned is true when this package called C_Initialize (and so must call
	// C_Finalize); false when someone else in the process had already. Guarded by mu.
	owned bool

	// Guarded by modules.mu.
	refs   int
	tokens map[string]int // backends per token label, to log out with the last
}

// modules is the process's set of loaded modules. It is package state
// because the PKCS#11 library state it mirrors is process state.
var modules = struct {
	mu     sync.Mutex
	byPath map[string]*module
}{byPath: map[string]*module{}}

// openModule loads and initializes the module at path, or takes another
// reference to it, on behalf of a backend serving token.
func openModule(path, token string) (*module, error) {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	if m := modules.byPath[path]; m != nil {
		m.refs++
		m.tokens[token]++
		return m, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("pkcs11: module %s: %w: %w", path, kms.ErrUnavailable, err)
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("pkcs11: module %s: %w: cannot load it as a PKCS#11 library", path, kms.ErrUnavailable)
	}
	owned := true
	if err := ctx.Initialize(); err != nil {
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			ctx.Destroy()
			return nil, fmt.Errorf("pkcs11: initialize module %s: %w: %w", path, kms.ErrUnavailable, err)
		}
		owned = false
	}
	m := &module{path: path, ctx: ctx, gen: 1, owned: owned, refs: 1, tokens: map[string]int{token: 1}}
	modules.byPath[path] = m
	return m, nil
}

// release drops one reference on behalf of a backend serving token. It
// reports whether that backend was the token's last user in the process
// (the caller logs out before closing its sessions), and finalizes and
// unloads the module after the last reference.
func (m *module) release(token string, beforeFinal func(lastOfToken bool)) error {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	m.tokens[token]--
	last := m.tokens[token] == 0
	if last {
		delete(m.tokens, token)
	}
	beforeFinal(last)
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules.byPath, m.path)
	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	if m.owned {
		if e := m.ctx.Finalize(); e != nil {
			err = fmt.Errorf("pkcs11: finalize module %s: %w", m.path, e)
		}
	}
	m.ctx.Destroy()
	return err
}

// reinitialize finalizes and re-initializes the module after a device-level
// failure seen in generation gen. When another caller already did so
// (the generation moved on) it does nothing.
func (m *module) reinitialize(gen uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen != gen {
		return nil
	}
	m.gen++
	_ = m.ctx.Finalize() // the device may be gone; C_Initialize below decides
	if err := m.ctx.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		return fmt.Errorf("pkcs11: re-initialize module %s: %w", m.path, err)
	}
	m.owned = true
	return nil
}
