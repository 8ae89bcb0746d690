package pkcs11kms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

// pool keeps up to size logged-in sessions on one token. A PKCS#11 session
// runs one operation at a time, so each operation borrows a session for its
// duration; waiting for one honours the caller's context.
type pool struct {
	m     *module
	api   cryptoki
	token string
	pin   string
	log   *slog.Logger
	// onRetry is Options.OnRetry, never nil.
	onRetry func(failure string)

	tokens  chan struct{} // one per session that may be in use
	closing chan struct{} // closed by close

	mu          sync.Mutex
	slot        uint
	modGen      uint64 // module generation slot and idle sessions belong to
	gen         uint64 // bumped whenever sessions were lost; see call.gen
	idle        []session
	pinRejected bool // never retry a rejected PIN: tokens lock after a few
	closed      bool
}

type session struct {
	h   pkcs11.SessionHandle
	gen uint64
}

// call is one attempt at an operation on a borrowed session.
type call struct {
	api  cryptoki
	sh   pkcs11.SessionHandle
	slot uint
	// gen identifies the pool's session generation: an object handle found
	// under another generation may be stale.
	gen uint64
	// retry is true on the second attempt, after a recoverable failure:
	// cached object handles must be looked up again.
	retry bool
}

func newPool(m *module, api cryptoki, token, pin string, size int, log *slog.Logger, onRetry func(string)) *pool {
	if onRetry == nil {
		onRetry = func(string) {}
	}
	return &pool{
		m: m, api: api, token: token, pin: pin, log: log, onRetry: onRetry,
		tokens:  make(chan struct{}, size),
		closing: make(chan struct{}),
		gen:     1,
	}
}

// start finds the token and opens and logs in the first session, so that a
// wrong PIN or a missing token fails at start-up.
func (p *pool) start() error {
	p.m.mu.RLock()
	defer p.m.mu.RUnlock()
	slot, err := findSlot(p.api, p.token)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.slot, p.modGen = slot, p.m.gen
	p.mu.Unlock()
	s, err := p.open()
	if err != nil {
		return err
	}
	p.put(s)
	return nil
}

// do runs fn on a borrowed session. A stale handle, a lost session or a
// lost device is recovered from once (see the package documentation); a
// second such failure is returned wrapping kms.ErrUnavailable. Module
// errors come back wrapped in the matching kms sentinel.
func (p *pool) do(ctx context.Context, fn func(c call) error) error {
	var err error
	for attempt := range 2 {
		var modGen uint64
		modGen, err = p.attempt(ctx, attempt > 0, fn)
		f := classify(err)
		if f == final || ctx.Err() != nil {
			return sentinel(err)
		}
		if attempt > 0 {
			break
		}
		p.log.WarnContext(ctx, "pkcs11: token operation failed, retrying", "token", p.token, "failure", f.String(), "error", err.Error())
		p.onRetry(f.String())
		if f == deviceLost {
			if rerr := p.m.reinitialize(modGen); rerr != nil {
				return fmt.Errorf("%w: %w", kms.ErrUnavailable, rerr)
			}
			p.log.WarnContext(ctx, "pkcs11: module re-initialized", "module", p.m.path)
		}
	}
	return fmt.Errorf("%w: %w", kms.ErrUnavailable, err)
}

func (p *pool) attempt(ctx context.Context, retry bool, fn func(c call) error) (modGen uint64, err error) {
	select {
	case p.tokens <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-p.closing:
		return 0, kms.ErrClosed
	}
	defer func() { <-p.tokens }()
	p.m.mu.RLock()
	defer p.m.mu.RUnlock()
	modGen = p.m.gen
	if err := ctx.Err(); err != nil {
		return modGen, err
	}
	s, slot, err := p.get(retry)
	if err != nil {
		return modGen, err
	}
	err = fn(call{api: p.api, sh: s.h, slot: slot, gen: s.gen, retry: retry})
	switch classify(err) {
	case sessionLost, deviceLost:
		p.discard(s)
	case staleHandle:
		// The session works, but it may be mid-operation if the handle
		// failed late (PKCS#11 2.40 cannot cancel an operation): drop it.
		_ = p.api.CloseSession(s.h)
	default:
		p.put(s)
	}
	return modGen, err
}

// get returns an idle session or opens a new one. The caller holds m.mu
// for reading. On a retry an idle session's login state is checked too.
func (p *pool) get(retry bool) (session, uint, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return session{}, 0, kms.ErrClosed
	}
	if p.modGen != p.m.gen {
		// The module was re-initialized: every session is gone and the
		// slot ID may have changed.
		p.idle, p.gen = nil, p.gen+1
		slot, err := findSlot(p.api, p.token)
		if err != nil {
			p.mu.Unlock()
			return session{}, 0, err
		}
		p.slot, p.modGen = slot, p.m.gen
	}
	slot := p.slot
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if retry {
			if err := p.login(s.h); err != nil {
				p.discard(s)
				return session{}, 0, err
			}
		}
		return s, slot, nil
	}
	p.mu.Unlock()
	s, err := p.open()
	return s, slot, err
}

// open opens a read-write session and makes sure the token is logged in.
// The caller holds m.mu for reading.
func (p *pool) open() (session, error) {
	p.mu.Lock()
	slot, gen := p.slot, p.gen
	p.mu.Unlock()
	h, err := p.api.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return session{}, fmt.Errorf("open session: %w", err)
	}
	if err := p.login(h); err != nil {
		_ = p.api.CloseSession(h)
		return session{}, err
	}
	return session{h: h, gen: gen}, nil
}

// login logs the user in unless the session already is (login state is
// shared by all sessions of the application on a token).
func (p *pool) login(h pkcs11.SessionHandle) error {
	info, err := p.api.GetSessionInfo(h)
	if err != nil {
		return fmt.Errorf("session info: %w", err)
	}
	if info.State == pkcs11.CKS_RW_USER_FUNCTIONS || info.State == pkcs11.CKS_RO_USER_FUNCTIONS {
		return nil
	}
	p.mu.Lock()
	rejected := p.pinRejected
	p.mu.Unlock()
	if rejected {
		return fmt.Errorf("login: %w: the token rejected the PIN earlier; not trying it again", kms.ErrPermission)
	}
	err = p.api.Login(h, pkcs11.CKU_USER, p.pin)
	if err == nil || errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
		return nil
	}
	if e, _ := rv(err); e == pkcs11.CKR_PIN_INCORRECT || e == pkcs11.CKR_PIN_LOCKED {
		p.mu.Lock()
		p.pinRejected = true
		p.mu.Unlock()
	}
	return fmt.Errorf("login: %w", err)
}

func (p *pool) put(s session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || s.gen != p.gen {
		_ = p.api.CloseSession(s.h)
		return
	}
	p.idle = append(p.idle, s)
}

// discard closes a failed session. The idle sessions of the same
// generation most likely failed with it (a token reset, C_CloseAllSessions),
// so they go too and the generation moves on.
func (p *pool) discard(s session) {
	_ = p.api.CloseSession(s.h)
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.gen != p.gen {
		return
	}
	for _, i := range p.idle {
		_ = p.api.CloseSession(i.h)
	}
	p.idle, p.gen = nil, p.gen+1
}

// close waits for operations in flight, then logs out (when this is the
// token's last backend in the process), closes the sessions and releases
// the module. Closing twice is not an error.
func (p *pool) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	p.mu.Unlock()
	for range cap(p.tokens) {
		p.tokens <- struct{}{}
	}
	return p.m.release(p.token, func(lastOfToken bool) {
		p.m.mu.RLock()
		defer p.m.mu.RUnlock()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.modGen != p.m.gen {
			p.idle = nil
			return
		}
		for i, s := range p.idle {
			if i == 0 && lastOfToken {
				_ = p.api.Logout(s.h)
			}
			_ = p.api.CloseSession(s.h)
		}
		p.idle = nil
	})
}

// findSlot returns the slot holding the token labelled label.
func findSlot(api cryptoki, label string) (uint, error) {
	slots, err := api.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("list slots: %w", err)
	}
	for _, s := range slots {
		ti, err := api.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if ti.Label == label && ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0 {
			return s, nil
		}
	}
	return 0, fmt.Errorf("no initialized token labelled %q: %w", label, pkcs11.Error(pkcs11.CKR_TOKEN_NOT_PRESENT))
}
