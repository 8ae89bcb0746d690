package approvalmem

import (
	"context"
	"fmt"
	"sync"

	"github.com/appsign/signer/internal/auth"
)

// Store is an in-memory auth.Approvals. It is safe for concurrent use.
type Store struct {
	opts auth.ApprovalOptions

	mu        sync.Mutex
	approvals map[string]auth.Approval
}

var _ auth.Approvals = (*Store)(nil)

// New returns an empty store.
func New(opts auth.ApprovalOptions) *Store {
	return &Store{opts: opts.WithDefaults(), approvals: map[string]auth.Approval{}}
}

// Request implements auth.Approvals.
func (s *Store) Request(_ context.Context, by auth.Identity, req auth.ApprovalRequest) (auth.Approval, error) {
	a, err := auth.NewApproval(by, req, s.opts)
	if err != nil {
		return auth.Approval{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.approvals[a.ID]; dup {
		return auth.Approval{}, fmt.Errorf("approvalmem: approval id %s generated twice", a.ID)
	}
	s.approvals[a.ID] = a
	return a, nil
}

// Approve implements auth.Approvals.
func (s *Store) Approve(_ context.Context, by auth.Identity, id string) (auth.Approval, error) {
	return s.update(id, func(a auth.Approval) (auth.Approval, error) { return a.Approve(by, s.opts) })
}

// Consume implements auth.Approvals.
func (s *Store) Consume(_ context.Context, by auth.Identity, id, action, target string) (auth.Approval, error) {
	return s.update(id, func(a auth.Approval) (auth.Approval, error) { return a.Consume(by, action, target, s.opts) })
}

// Get implements auth.Approvals.
func (s *Store) Get(_ context.Context, id string) (auth.Approval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.approvals[id]
	if !ok {
		return auth.Approval{}, fmt.Errorf("approvalmem: %w: %q", auth.ErrApprovalNotFound, id)
	}
	return a, nil
}

func (s *Store) update(id string, f func(auth.Approval) (auth.Approval, error)) (auth.Approval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.approvals[id]
	if !ok {
		return auth.Approval{}, fmt.Errorf("approvalmem: %w: %q", auth.ErrApprovalNotFound, id)
	}
	a, err := f(a)
	if err != nil {
		return auth.Approval{}, err
	}
	s.approvals[id] = a
	return a, nil
}
