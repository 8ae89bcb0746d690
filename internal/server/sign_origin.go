package server

import (
	"context"

	"google.golang.org/grpc/codes"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
)

// checkMarketplaceSigning refuses a signing request the service must not
// sign. Every signature it makes is by the active archive-signing key,
// whose certificate the marketplace CA issued, so customers install it as
// a reviewed marketplace app for any app key: only the review pipeline may
// ask, only for TRACK_MARKETPLACE (validateMetadata demands its review_ref,
// which the ledger entry records). Private builds are signed by vendors
// with their own keys under private-build certificates
// (IssueVendorCertificate); see docs/trust.md.
//
// The method table (auth.checkSigning) already refuses these; the handler
// checks again so that a batch item, or a server wired without the table,
// cannot get a signature the table would refuse.
func checkMarketplaceSigning(ctx context.Context, track signerv1.Track) error {
	if id, ok := auth.IdentityFromContext(ctx); ok && !id.Has(auth.RolePipeline) {
		return clientErrorf(codes.PermissionDenied, "only the review pipeline gets the signer's (marketplace-origin) signatures; vendors sign private builds with their own key under a private-build certificate (signerctl vendor certify)")
	}
	if track == signerv1.Track_TRACK_PRIVATE_BUILD {
		return clientErrorf(codes.PermissionDenied, "the signer signs reviewed marketplace releases only: a TRACK_PRIVATE_BUILD build is signed by the vendor's own key under a private-build certificate (signerctl vendor certify, then signerctl sign --key)")
	}
	return nil
}
