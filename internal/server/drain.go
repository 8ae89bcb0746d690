package server

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// ErrDraining means the server is shutting down: it finishes the calls in
// flight but takes no new ones. Clients retry on another replica, with the
// same idempotency key.
var ErrDraining = errors.New("server: shutting down")

// drain admits calls until shutdown begins and counts those in flight.
type drain struct {
	closing  atomic.Bool
	inFlight atomic.Int64
}

// exempt are the methods a draining server still answers: health, so load
// balancers read NOT_SERVING instead of a refused connection, and
// reflection.
func exempt(method string) bool {
	return strings.HasPrefix(method, "/"+healthpb.Health_ServiceDesc.ServiceName+"/") ||
		strings.HasPrefix(method, "/grpc.reflection.")
}

// admit counts a call in, or refuses it once shutdown began. A call counted
// in before closing was set is waited for; one that raced with it backs
// out.
func (d *drain) admit(method string) (done func(), err error) {
	if exempt(method) {
		return func() {}, nil
	}
	d.inFlight.Add(1)
	if d.closing.Load() {
		d.inFlight.Add(-1)
		return nil, ErrDraining
	}
	return func() { d.inFlight.Add(-1) }, nil
}

// unary and stream refuse calls with ErrDraining, which the outer
// interceptor maps to a status.
func (d *drain) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		done, err := d.admit(info.FullMethod)
		if err != nil {
			return nil, err
		}
		defer done()
		return handler(ctx, req)
	}
}

func (d *drain) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		done, err := d.admit(info.FullMethod)
		if err != nil {
			return err
		}
		defer done()
		return handler(srv, ss)
	}
}

// Shutdown drains the server within grace: health turns NOT_SERVING at
// once (and stays so), new calls are refused with Unavailable while
// health is still answered, the calls in flight finish, then the server
// stops. Calls still running when grace ends are cancelled; their clients
// retry with their idempotency keys. It returns when the server has
// stopped.
func (s *Server) Shutdown(grace time.Duration) {
	deadline := time.Now().Add(grace)
	s.drain.closing.Store(true)
	s.Health.Shutdown()
	s.cfg.Logger.Info("shutting down: NOT_SERVING, refusing new calls, finishing those in flight",
		"in_flight", s.drain.inFlight.Load(), "grace", grace.String())
	for s.drain.inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { s.GRPC.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Until(deadline)):
		s.cfg.Logger.Warn("shutdown grace period over: cancelling the calls still in flight", "in_flight", s.drain.inFlight.Load())
		s.GRPC.Stop()
	}
}
