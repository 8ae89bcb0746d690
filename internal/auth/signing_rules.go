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
	denyVendor = &Denial{"the signer's signatures are marketplace-origin and only the review pipeline gets them; " +
		"sign private builds with your own key under a private-build certificate (signerctl vendor certify, then signerctl sign --key)"}
	denyPrivateBuild = &Denial{"the signer signs reviewed marketplace releases only (TRACK_MARKETPLACE with a review_ref); " +
		"a TRACK_PRIVATE_BUILD build is signed by the vendor's own key under a private-build certificate"}
	denyRole = &Denial{"signing needs the pipeline role"}
)

// checkSigning is the request rule of SignArchive and SignDigest. Every
// signature the service makes is by the archive-signing key, whose
// certificate the marketplace CA issued: customers install it as a
// reviewed marketplace app, for any app key. So only the review pipeline
// may ask for one, and only for a marketplace release (the handler also
// demands its review_ref). Vendors sign private builds themselves, with
// certificates of the private-build CA scoped to their app keys
// (IssueVendorCertificate); the service never signs on their behalf.
func checkSigning(_ context.Context, id Identity, req any) error {
	if !id.Has(RolePipeline) {
		if id.Has(RoleVendor) {
			return denyVendor
		}
		return denyRole
	}
	var track signerv1.Track
	switch r := req.(type) {
	case *signerv1.SignArchiveRequest:
		// A first message without metadata is the handler's InvalidArgument.
		track = r.GetMetadata().GetTrack()
	case *signerv1.SignDigestRequest:
		track = r.GetTrack()
	default:
		return fmt.Errorf("%w: no signing rule for %T", ErrPermissionDenied, req)
	}
	if track == signerv1.Track_TRACK_PRIVATE_BUILD {
		return denyPrivateBuild
	}
	return nil
}
