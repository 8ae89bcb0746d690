package metrics

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor counts and times unary calls. Put it first in the
// chain so that calls refused by authentication or limits are counted too.
func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m == nil {
			return handler(ctx, req)
		}
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		start := time.Now()
		resp, err := handler(ctx, req)
		m.ObserveRequest(info.FullMethod, status.Code(err).String(), time.Since(start))
		return resp, err
	}
}

// StreamServerInterceptor counts and times streaming calls, from the start
// of the stream to its status.
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if m == nil {
			return handler(srv, ss)
		}
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		start := time.Now()
		err := handler(srv, ss)
		m.ObserveRequest(info.FullMethod, status.Code(err).String(), time.Since(start))
		return err
	}
}
