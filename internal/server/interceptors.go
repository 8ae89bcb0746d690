package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RequestIDHeader is the metadata key carrying the request ID both ways.
const RequestIDHeader = "x-request-id"

type requestIDKey struct{}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// RequestID returns the request ID of ctx, or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID takes the caller's request ID if it is well formed, or makes
// one, and echoes it in the response header.
func withRequestID(ctx context.Context) context.Context {
	var id string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) == 1 && requestIDRE.MatchString(v[0]) {
			id = v[0]
		}
	}
	if id == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	return context.WithValue(ctx, requestIDKey{}, id)
}

// UnaryInterceptor assigns request IDs, recovers panics (answering Internal
// without details), turns the error of everything it wraps into a status
// (toStatus, with the method it knows) and logs each call. Handlers and
// the interceptors after it return plain Go errors.
func UnaryInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		ctx = withRequestID(ctx)
		start := time.Now()
		defer func() {
			err = finish(ctx, log, info.FullMethod, start, recover(), err)
		}()
		return handler(ctx, req)
	}
}

// StreamInterceptor is UnaryInterceptor for streaming calls.
func StreamInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := withRequestID(ss.Context())
		start := time.Now()
		defer func() {
			err = finish(ctx, log, info.FullMethod, start, recover(), err)
		}()
		return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	}
}

// finish ends a call: a panic (recovered) answers Internal without
// details, any other error goes through toStatus; then the call is logged.
func finish(ctx context.Context, log *slog.Logger, method string, start time.Time, panicked any, err error) error {
	if panicked != nil {
		log.ErrorContext(ctx, "panic in handler", "method", method, "request_id", RequestID(ctx), "panic", panicked, "stack", string(debug.Stack()))
		err = status.Errorf(codes.Internal, "internal error (request id %s)", RequestID(ctx))
	}
	err = toStatus(ctx, log, method, err)
	logCall(ctx, log, method, start, err)
	return err
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	log.LogAttrs(ctx, slog.LevelInfo, "rpc",
		slog.String("method", method),
		slog.String("request_id", RequestID(ctx)),
		slog.String("code", status.Code(err).String()),
		slog.Duration("duration", time.Since(start)))
}
