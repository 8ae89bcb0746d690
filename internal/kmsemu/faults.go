package kmsemu

import (
	"context"
	"net/http"
	"time"

	"github.com/appsign/signer/internal/ctxio"
)

// faults are the failures tests inject. Guarded by Server.mu.
type faults struct {
	throttle int // calls left to throttle; < 0 throttles until reset
	internal int // calls left to fail with HTTP 500; < 0 fails until reset
	latency  time.Duration
}

// Throttle makes the next n authenticated calls fail with
// ThrottlingException (HTTP 400), as KMS does beyond its request quota.
// n < 0 throttles every call until Throttle(0).
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.throttle = n
}

// FailInternal makes the next n authenticated calls fail with
// KMSInternalException (HTTP 500). n < 0 fails every call until FailInternal(0).
func (s *Server) FailInternal(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.internal = n
}

// SetLatency delays every authenticated call by d before it is handled.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.latency = d
}

// SetKeyEnabled enables or disables the key named by ref (key id, key ARN,
// alias name or alias ARN), as EnableKey and DisableKey do. Calls on a
// disabled key fail with DisabledException.
func (s *Server) SetKeyEnabled(ref string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, e := s.lookupLocked(ref)
	if e != nil {
		return e
	}
	if k.State == StatePendingDeletion {
		return errorf("KMSInvalidStateException", "%s is pending deletion.", s.keyARN(k.ID))
	}
	k.State = map[bool]string{true: StateEnabled, false: StateDisabled}[enabled]
	s.dirty = true
	return nil
}

// DenyKey makes every call on the key named by ref fail with
// AccessDeniedException while deny is true, as a key policy or IAM change
// revoking the caller's access would. It is not persisted.
func (s *Server) DenyKey(ref string, deny bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, e := s.lookupLocked(ref)
	if e != nil {
		return e
	}
	k.denied = deny
	return nil
}

// Calls returns how many requests named operation op (e.g. "Sign") the
// server received, including failed and faulted ones.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// ResetCalls sets every call counter to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

func (s *Server) count(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
}

// delay waits out the injected latency, or until ctx ends.
func (s *Server) delay(ctx context.Context) error {
	s.mu.Lock()
	d := s.faults.latency
	s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	return ctxio.Sleep(ctx, d)
}

// takeFault consumes one injected failure, throttling first.
func (s *Server) takeFault() *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &s.faults
	switch {
	case f.throttle != 0:
		if f.throttle > 0 {
			f.throttle--
		}
		return &apiError{status: http.StatusBadRequest, code: "ThrottlingException", message: "Rate exceeded"}
	case f.internal != 0:
		if f.internal > 0 {
			f.internal--
		}
		return internalError("An internal error occurred (injected by kmsemu).")
	}
	return nil
}
