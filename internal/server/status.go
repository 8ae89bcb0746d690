package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/revocationstore"
)

// clientError is an error whose message is meant for the client as is: a
// handler builds it from the request (the fields it names, the command to
// run next), never from another error's text.
type clientError struct {
	code codes.Code
	msg  string
}

func (e *clientError) Error() string { return e.msg }

// clientErrorf returns a clientError; its arguments must come from the
// request or the server's own records, never from an error.
func clientErrorf(code codes.Code, format string, args ...any) error {
	return &clientError{code: code, msg: fmt.Sprintf(format, args...)}
}

// invalidArg is a clientError for a request field the caller must fix.
func invalidArg(format string, args ...any) error {
	return clientErrorf(codes.InvalidArgument, format, args...)
}

// toStatus is the one place that turns an error into a gRPC status; the
// interceptors apply it to every handler's error with the method they
// know. A status (from the transport, or a deadline) and a clientError
// keep their message. Everything else gets the code and the fixed message
// of errorRules, with the request ID; the full cause goes to the log with
// the method and the request ID so an operator can find it.
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		// Already a status: keep its code and its own message, not the
		// text of anything wrapped around it.
		return gs.GRPCStatus().Err()
	}
	var ce *clientError
	if errors.As(err, &ce) {
		return status.Error(ce.code, ce.msg)
	}
	code, msg := classify(err)
	log.LogAttrs(ctx, levelFor(code), "request failed",
		slog.String("method", method),
		slog.String("request_id", RequestID(ctx)),
		slog.String("code", code.String()),
		slog.String("error", err.Error()))
	var retry interface{ RetryAfter() time.Duration }
	if !errors.As(err, &retry) {
		return status.Errorf(code, "%s (request id %s)", msg, RequestID(ctx))
	}
	// A refusal that passes by itself (a limit) says when to retry, in
	// the text for people and as RetryInfo for clients' backoff.
	after := retry.RetryAfter()
	st := status.Newf(code, "%s; retry in %v (request id %s)", msg, after.Round(time.Millisecond), RequestID(ctx))
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(after)}); err == nil {
		st = d
	}
	return st.Err()
}

// classify finds err's code and client message: typed errors whose fields
// make the message more useful first, then errorRules in order.
func classify(err error) (codes.Code, string) {
	var av *keystore.ActiveVersionError
	if errors.As(err, &av) {
		return codes.FailedPrecondition, fmt.Sprintf(
			"key %s version %d is the active signing version; nothing was revoked: rotate the key first (signerctl key rotate %s), then revoke again",
			av.Name, av.Version, av.Name)
	}
	var fe *ledger.FindingsError
	if errors.As(err, &fe) && errors.Is(err, revocationstore.ErrLogMismatch) {
		// The findings name rows and columns, as ledger verify prints
		// them to the same security admin; no error text of the database.
		return codes.FailedPrecondition, fmt.Sprintf("the revocation tables disagree with the ledger log (%s); nothing was published: run `signerctl ledger verify` for the full report", fe)
	}
	var d *auth.Denial
	if errors.As(err, &d) {
		// Denial reasons are fixed texts written for the caller.
		return codes.PermissionDenied, "permission denied: " + d.Reason
	}
	code, msg := codes.Internal, msgInternal
	for _, r := range errorRules {
		if slices.ContainsFunc(r.errs, func(target error) bool { return errors.Is(err, target) }) {
			code, msg = r.code, r.msg
			break
		}
	}
	// A refusal of the request's own fields (keystore.RequestError) says
	// which field and what is allowed: more use to the caller than the
	// sentinel's message, and written for the caller by its package.
	var rm interface{ ClientMessage() string }
	if code == codes.InvalidArgument && errors.As(err, &rm) {
		msg = rm.ClientMessage()
	}
	return code, msg
}

func levelFor(c codes.Code) slog.Level {
	switch c {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return slog.LevelError
	case codes.Unavailable, codes.FailedPrecondition:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
