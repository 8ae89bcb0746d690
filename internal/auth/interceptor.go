package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
)

// Authorizer authenticates and authorizes every call. Place its
// interceptors before anything that needs the caller's identity (limits,
// handlers) and after request-ID, logging and panic recovery. Refusals are
// errors wrapping this package's sentinels (ErrNoCredentials,
// ErrUnknownIdentity, ErrRoleNotAllowed, ErrPermissionDenied, a *Denial):
// internal/server's interceptor gives them their codes and fixed client
// messages, as it does every other error.
type Authorizer struct {
	policy *Policy
	authn  Authenticator
	log    *slog.Logger
}

// NewAuthorizer returns an Authorizer that authenticates callers with authn
// and authorizes them against p's method table. Refusals are logged to log
// (nil discards) with the method, the subject and the reason.
func NewAuthorizer(p *Policy, authn Authenticator, log *slog.Logger) *Authorizer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authorizer{policy: p, authn: authn, log: log}
}

// UnaryServerInterceptor authorizes unary calls, including the method's
// request check.
func (a *Authorizer) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, id, acc, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		if acc.Check != nil {
			if err := a.check(ctx, info.FullMethod, acc, id, req); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authorizes streaming calls. A method's request
// check runs on the first message the handler receives; until it passes,
// the handler can neither read further nor send.
func (a *Authorizer) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, id, acc, err := a.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		ws := &authStream{ServerStream: ss, ctx: ctx}
		if acc.Check != nil {
			ws.check = func(m any) error { return a.check(ctx, info.FullMethod, acc, id, m) }
		}
		err = handler(srv, ws)
		if ws.denied != nil {
			// Whatever the handler made of the refusal, the caller gets it.
			return ws.denied
		}
		return err
	}
}

// authorize authenticates the caller unless the method is public, applies
// the role rule and returns ctx carrying the identity.
func (a *Authorizer) authorize(ctx context.Context, method string) (context.Context, Identity, Access, error) {
	acc, listed := a.policy.Access(method)
	id, authErr := a.authn.Authenticate(ctx)
	if authErr == nil {
		ctx = ContextWithIdentity(ctx, id)
	}
	if listed && acc.Public {
		return ctx, id, acc, nil
	}
	if authErr != nil {
		a.log.LogAttrs(ctx, slog.LevelInfo, "unauthenticated call refused",
			slog.String("method", method), slog.String("reason", authErr.Error()))
		return ctx, id, acc, unauthenticated(authErr)
	}
	if !listed || !id.HasAny(acc.Roles) {
		reason := "role not allowed"
		if !listed {
			reason = "method not in the method table"
		}
		a.log.LogAttrs(ctx, slog.LevelWarn, "call refused",
			slog.String("method", method), slog.String("subject", id.Subject), slog.String("reason", reason))
		if !listed {
			return ctx, id, acc, fmt.Errorf("%w: %s", ErrMethodNotCovered, method)
		}
		return ctx, id, acc, fmt.Errorf("%w: %s calling %s", ErrRoleNotAllowed, id.Subject, method)
	}
	return ctx, id, acc, nil
}

// unauthenticated makes sure an authenticator's refusal wraps one of the
// sentinels of an unauthenticated caller: one that wraps none is an
// identity this service does not know.
func unauthenticated(err error) error {
	for _, s := range []error{ErrNoCredentials, ErrNotLoopback, ErrInvalidSubject, ErrUnknownIdentity} {
		if errors.Is(err, s) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrUnknownIdentity, err)
}

// check runs the method's request check; a refusal wraps
// ErrPermissionDenied (a *Denial does already).
func (a *Authorizer) check(ctx context.Context, method string, acc Access, id Identity, req any) error {
	err := acc.Check(ctx, id, req)
	if err == nil {
		return nil
	}
	a.log.LogAttrs(ctx, slog.LevelWarn, "request refused",
		slog.String("method", method), slog.String("subject", id.Subject), slog.String("reason", err.Error()))
	if errors.Is(err, ErrPermissionDenied) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrPermissionDenied, err)
}

// authStream carries the identity in its context and, when the method has
// a request check, holds the stream closed until the first message passed.
type authStream struct {
	grpc.ServerStream
	ctx    context.Context
	check  func(m any) error // nil once passed, or when there is none
	denied error
}

func (s *authStream) Context() context.Context { return s.ctx }

func (s *authStream) RecvMsg(m any) error {
	if s.denied != nil {
		return s.denied
	}
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.check != nil {
		if err := s.check(m); err != nil {
			s.denied = err
			return err
		}
		s.check = nil
	}
	return nil
}

func (s *authStream) SendMsg(m any) error {
	if s.denied != nil {
		return s.denied
	}
	if s.check != nil {
		// Default deny: nothing leaves before the request was checked.
		return fmt.Errorf("%w: send before the request was checked", ErrPermissionDenied)
	}
	return s.ServerStream.SendMsg(m)
}
