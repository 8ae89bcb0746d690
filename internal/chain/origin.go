package chain

import (
	"crypto/x509"
	"fmt"
	"slices"
)

// OriginUnknown is the origin of a signature that did not verify: nothing
// in a file that fails to chain to the trust store may say where it came
// from, so its origin is never taken from the file.
const OriginUnknown = "unknown"

// OriginOfChain names the origin of a verified signature from the trust
// store's side only: path is the validated chain (signing certificate
// first, root last; every CA on it came from the trust store, never from
// the signature file), fromTrustStore says the signing certificate itself
// is a trust-store certificate (custom apps).
//
//   - custom: the signing certificate is trusted directly by the trust store;
//   - private-build: a CA on the path carries the private-build policy
//     (the private-build CA, NewPrivateBuildCA);
//   - marketplace: the path reaches a trust-store root through CAs without it;
//   - OriginUnknown: no validated path.
//
// What the signing certificate itself claims (policies, app-key URIs) never
// chooses the origin: a certificate is private-build because the
// private-build CA issued it.
func OriginOfChain(path []*x509.Certificate, fromTrustStore bool) string {
	switch {
	case len(path) == 0:
		return OriginUnknown
	case fromTrustStore:
		return OriginCustom
	case len(path) == 1:
		// A validated path always holds the leaf and a root; a lone
		// certificate is not one.
		return OriginUnknown
	}
	pb := PrivateBuildPolicy()
	for _, ca := range path[1:] {
		if slices.ContainsFunc(ca.Policies, pb.Equal) {
			return OriginPrivateBuild
		}
	}
	return OriginMarketplace
}

// CheckOriginScope enforces the app-key scope that origin demands of the
// signing certificate c, for the app key being installed: a private-build
// signature must name appKey among its certificate's app-key URIs (no
// URI, no app key, or another app key is ErrOutOfScope). A certificate of
// any other origin that still carries app-key URIs is held to them too:
// a scope is only ever a restriction.
func CheckOriginScope(origin string, c *x509.Certificate, appKey string) error {
	if origin == OriginPrivateBuild {
		if keys, _ := AppKeyScope(c); len(keys) == 0 {
			return fmt.Errorf("%w: private-build certificate %q names no app key", ErrOutOfScope, c.Subject)
		}
	}
	return CheckAppKeyScope(c, appKey)
}
