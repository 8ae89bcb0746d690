package auth

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/appsign/signer/internal/transport"
)

// Authenticator establishes who is calling.
type Authenticator interface {
	// Authenticate returns the caller's identity. Errors wrap
	// ErrNoCredentials, ErrInvalidSubject, ErrUnknownIdentity or
	// ErrNotLoopback.
	Authenticate(ctx context.Context) (Identity, error)
}

// MTLS authenticates callers by their verified TLS client certificate: the
// certificate's URI SAN (a SPIFFE ID) is looked up in the policy. Use it on
// every listener that serves TLS (transport.ServerTLS).
type MTLS struct{ policy *Policy }

// NewMTLS returns an authenticator that resolves identities in p.
func NewMTLS(p *Policy) *MTLS { return &MTLS{policy: p} }

// Authenticate implements Authenticator.
func (a *MTLS) Authenticate(ctx context.Context) (Identity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Identity{}, ErrNoCredentials
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return Identity{}, fmt.Errorf("%w: not a TLS connection", ErrNoCredentials)
	}
	// Only a chain the TLS stack verified counts: PeerCertificates alone
	// may be unverified under a lax ClientAuth setting.
	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return Identity{}, fmt.Errorf("%w: no verified client certificate", ErrNoCredentials)
	}
	subject, err := SubjectFromCertificate(chains[0][0])
	if err != nil {
		return Identity{}, err
	}
	id, ok := a.policy.Lookup(subject)
	if !ok {
		return Identity{}, fmt.Errorf("%w: %s", ErrUnknownIdentity, subject)
	}
	return id, nil
}

// Loopback gives every caller one configured identity, for development on a
// plaintext loopback listener. It vouches only for connections that are
// plaintext TCP with both ends on loopback addresses; any other connection
// fails with ErrNotLoopback, so a misconfigured listener refuses callers
// instead of trusting them.
type Loopback struct{ id Identity }

// NewLoopback returns the loopback authenticator for a listener on
// listenAddr, which must be a loopback address (transport.RequireLoopback).
func NewLoopback(listenAddr string, id Identity) (*Loopback, error) {
	if err := transport.RequireLoopback(listenAddr); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotLoopback, err)
	}
	if _, _, err := ParseSubject(id.Subject); err != nil {
		return nil, fmt.Errorf("auth: loopback identity: %w", err)
	}
	return &Loopback{id: id.clone()}, nil
}

// Authenticate implements Authenticator.
func (a *Loopback) Authenticate(ctx context.Context) (Identity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Identity{}, ErrNotLoopback
	}
	if p.AuthInfo != nil {
		return Identity{}, fmt.Errorf("%w: connection has transport security %q", ErrNotLoopback, p.AuthInfo.AuthType())
	}
	if !isLoopbackTCP(p.Addr) || (p.LocalAddr != nil && !isLoopbackTCP(p.LocalAddr)) {
		return Identity{}, fmt.Errorf("%w: %v", ErrNotLoopback, p.Addr)
	}
	return a.id.clone(), nil
}

func isLoopbackTCP(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}
