package limits

import (
	"context"

	"google.golang.org/grpc"
)

// UnaryServerInterceptor admits a unary call (global cap, the caller's rate
// and concurrency) and applies the deadline rules before the handler runs.
func (l *Limiter) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		release, err := l.admit(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		defer release()
		ctx, cancel, _ := l.withDeadline(ctx, info.FullMethod)
		defer cancel()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams: a stream
// counts as one call for the whole of its life.
func (l *Limiter) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		release, err := l.admit(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		defer release()
		ctx, cancel, set := l.withDeadline(ss.Context(), info.FullMethod)
		defer cancel()
		if !set {
			// The client's own deadline applies; gRPC enforces it.
			return handler(srv, ss)
		}
		return handler(srv, &deadlineStream{ServerStream: ss, ctx: ctx})
	}
}
