package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/translog"
)

// clientErrorf returns an error whose text the client sees as is.
func clientErrorf(code codes.Code, format string, args ...any) error {
	return &clientError{code: code, msg: fmt.Sprintf(format, args...)}
}

// toStatus is the one place that turns an error into a gRPC status. Errors
// the handlers made for the client keep their message; everything else gets
// a fixed message chosen by its class, and the full cause goes to the log
// with the request ID so an operator can find it.
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		// Already a status (e.g. from the transport): keep its code and
		// its own message, not the text of anything wrapped around it.
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
	return status.Errorf(code, "%s (request id %s)", msg, RequestID(ctx))
}

func classify(err error) (codes.Code, string) {
	switch {
	case errors.Is(err, ErrSpoolFull):
		return codes.ResourceExhausted, "no room to receive the archive on this replica; nothing was signed, retry later with the same idempotency key"
	case errors.Is(err, ErrDraining):
		return codes.Unavailable, "server shutting down; no signature was issued, retry (on another replica) with the same idempotency key"
	case errors.Is(err, context.Canceled):
		return codes.Canceled, "request cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded, "deadline exceeded before the request finished"
	case errors.Is(err, ledger.ErrNotFound):
		return codes.NotFound, "no such ledger entry"
	case errors.Is(err, ledger.ErrIdempotencyConflict):
		return codes.AlreadyExists, "idempotency key already used for a different archive or app version; use a new key"
	case errors.Is(err, ledger.ErrUnavailable):
		return codes.Unavailable, "ledger database unavailable; no signature was issued, retry with the same idempotency key"
	case errors.Is(err, kms.ErrMessageTooLarge), errors.Is(err, kms.ErrUnsupported):
		return codes.FailedPrecondition, "the active signing key's backend cannot pure-sign this archive"
	case errors.Is(err, kms.ErrUnavailable), errors.Is(err, kms.ErrPermission), errors.Is(err, kms.ErrClosed):
		return codes.Unavailable, "signing key backend unavailable; no signature was issued, retry later"
	case errors.Is(err, keystore.ErrNoActiveVersion), errors.Is(err, keystore.ErrRevoked):
		return codes.FailedPrecondition, "the signing key has no usable active version; a security admin must rotate it"
	case errors.Is(err, keystore.ErrUnavailable):
		return codes.Unavailable, "key store unavailable; retry later"
	case errors.Is(err, ledger.ErrInvalidFilter):
		return codes.InvalidArgument, "invalid ledger query filter"
	case errors.Is(err, translog.ErrNoCheckpoint):
		return codes.FailedPrecondition, "the ledger has no signed checkpoint yet; retry shortly"
	case errors.Is(err, translog.ErrOutOfRange):
		return codes.OutOfRange, "index or tree size beyond the log's signed size"
	case errors.Is(err, translog.ErrCorrupt):
		return codes.DataLoss, "the stored ledger log is inconsistent; nothing was signed; operators: run signerctl ledger verify"
	case errors.Is(err, translog.ErrUnavailable), errors.Is(err, translog.ErrClosed):
		return codes.Unavailable, "ledger log unavailable; retry later"
	case errors.Is(err, kms.ErrBackendFault):
		return codes.Internal, "signing key backend returned an invalid signature; no signature was issued"
	}
	return codes.Internal, "internal error"
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
