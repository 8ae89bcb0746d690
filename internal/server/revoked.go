package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/appsign/signer/internal/ledger"
)

// recordFailed turns Record's refusal of a revoked key version into the
// client's answer, and reloads the keys so the next request signs with
// the version active now. Other errors pass through.
func (s *signerService) recordFailed(ctx context.Context, err error) error {
	var rk *ledger.RevokedKeyError
	if !errors.As(err, &rk) {
		return err
	}
	if s.cfg.keyStore != nil {
		if rerr := s.cfg.keyStore.Refresh(ctx); rerr != nil {
			s.cfg.Logger.WarnContext(ctx, "reload keys after a revoked-key refusal", "request_id", RequestID(ctx), "error", rerr)
		}
	}
	return clientErrorf(codes.FailedPrecondition,
		"key %s version %d is revoked: nothing was signed or recorded. This replica has reloaded its keys: retry (same idempotency key) to sign with the active version; if the key has none, a security admin must rotate it (signerctl key rotate %s)",
		rk.KeyID, rk.KeyVersion, rk.KeyID)
}

// revokedReplay is the answer to a replay (same idempotency key) of an
// entry a revocation covers: its signature is never handed out again.
// The caller re-signs under a new idempotency key instead, so that the new
// entry, its key version and its link to the revocation are all on record;
// silently re-signing would hand back a different signature under the old
// request's name.
func (s *signerService) revokedReplay(ctx context.Context, e ledger.Entry) error {
	what := "a revocation"
	resign := "resign:e" + fmt.Sprint(e.ID)
	if r, err := s.cfg.Ledger.EntryRevocation(ctx, e.ID); err == nil {
		what = fmt.Sprintf("revocation %d (%s %s, reason %s", r.ID, r.Kind, r.Target, r.Reason)
		if !r.EffectiveFrom.IsZero() {
			what += ", effective from " + r.EffectiveFrom.Format(time.RFC3339Nano)
		}
		what += ")"
		resign = fmt.Sprintf("resign:r%d:e%d", r.ID, e.ID)
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return err
	}
	return clientErrorf(codes.FailedPrecondition,
		"ledger entry %d (%s %s, %s, signed with key %s version %d) is revoked by %s: its signature is not handed out again. Re-sign the archive under the active key with a new idempotency key (e.g. signerctl sign --idempotency-key %s; signerctl revoke key --resign-dir re-signs every affected version)",
		e.ID, e.AppKey, e.Version, e.Track, e.KeyID, e.KeyVersion, what, resign)
}
