package auth

import (
	"context"
	"fmt"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// Denial is a refusal whose reason the caller may read. Reasons are fixed
// texts chosen here; they never quote the policy.
type Denial struct{ Reason string }

func (d *Denial) Error() string { return "auth: permission denied: " + d.Reason }

// Unwrap makes errors.Is(d, ErrPermissionDenied) hold.
func (d *Denial) Unwrap() error { return ErrPermissionDenied }

var (
	denyNoMetadata = &Denial{"a vendor's first message must carry the metadata (app_key, track)"}
	denyTrack      = &Denial{"vendor identities may sign TRACK_PRIVATE_BUILD requests only"}
	denyAppKey     = &Denial{"vendor identities may sign only the app keys their policy entry lists"}
	denyRole       = &Denial{"signing needs the pipeline or vendor role"}
)

// checkSigning is the request rule of SignArchive and SignDigest: the
// pipeline signs anything; a vendor signs private builds of its own app
// keys only.
func checkSigning(_ context.Context, id Identity, req any) error {
	if id.Has(RolePipeline) {
		return nil
	}
	if !id.Has(RoleVendor) {
		return denyRole
	}
	var appKey string
	var track signerv1.Track
	switch r := req.(type) {
	case *signerv1.SignArchiveRequest:
		m := r.GetMetadata()
		if m == nil {
			return denyNoMetadata
		}
		appKey, track = m.GetAppKey(), m.GetTrack()
	case *signerv1.SignDigestRequest:
		appKey, track = r.GetAppKey(), r.GetTrack()
	default:
		return fmt.Errorf("%w: no signing rule for %T", ErrPermissionDenied, req)
	}
	if track != signerv1.Track_TRACK_PRIVATE_BUILD {
		return denyTrack
	}
	if !id.OwnsAppKey(appKey) {
		return denyAppKey
	}
	return nil
}
