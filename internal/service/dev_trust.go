package service

import (
	"crypto/ed25519"
	"crypto/x509"
	"io"
	"path/filepath"
	"time"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/revocation"
)

// DevTrustSignerValidity is the lifetime of the development trust-metadata
// signing certificates (bundle and revocation signers).
const DevTrustSignerValidity = 365 * 24 * time.Hour

// DevTrust is what `signer dev` adds to the development PKI of
// chain.EnsureDevPKI for TrustService, all under the data directory:
//
//	keys/private-build-ca.key  pki/private-build-ca.crt  the private-build CA (root → private-build CA → vendor certificates)
//	keys/bundle-signer.key     pki/bundle-signer.crt     signs trust-bundle manifests (policy .1)
//	keys/revocation-signer.key pki/revocation-signer.crt signs revocation lists (policy .2)
type DevTrust struct {
	PrivateBuild *chain.DevIssued
	BundleSigner *chain.DevIssued
	ListSigner   *chain.DevIssued
	// Revocation configures TrustService with the dev root, marketplace
	// CA and private-build CA, all software keys under the data directory.
	Revocation config.Revocation
}

// EnsureDevTrust creates (once) the development trust material under
// dataDir, beside the dev PKI chain.EnsureDevPKI made there.
func EnsureDevTrust(rand io.Reader, dataDir string, pki *chain.DevPKI, now time.Time) (*DevTrust, error) {
	pb, err := chain.EnsureDevPrivateBuildCA(rand, dataDir, now)
	if err != nil {
		return nil, err
	}
	bs, err := chain.EnsureDevIssued(rand, dataDir, "bundle-signer", false, now, func(root *x509.Certificate, rootKey ed25519.PrivateKey, pub ed25519.PublicKey) (*x509.Certificate, error) {
		return bundle.NewSignerCertificate(rand, root, rootKey, pub, "signer dev bundle signer", now, DevTrustSignerValidity)
	})
	if err != nil {
		return nil, err
	}
	rs, err := chain.EnsureDevIssued(rand, dataDir, "revocation-signer", false, now, func(root *x509.Certificate, rootKey ed25519.PrivateKey, pub ed25519.PublicKey) (*x509.Certificate, error) {
		return revocation.NewSignerCertificate(rand, root, rootKey, pub, "signer dev revocation signer", revocation.RevocationSigningPolicy(), now, DevTrustSignerValidity)
	})
	if err != nil {
		return nil, err
	}
	keys := filepath.Join(dataDir, "keys")
	return &DevTrust{PrivateBuild: pb, BundleSigner: bs, ListSigner: rs, Revocation: config.Revocation{
		Issuer:     "signer dev",
		ListSigner: config.CAKey{URI: softURI(rs.KeyPath), Certificate: rs.CertPath},
		CAs: []config.NamedCA{
			{Name: "root", URI: softURI(filepath.Join(keys, "root-ca.key")), Certificate: pki.RootCertPath},
			{Name: chain.OriginMarketplace, URI: softURI(filepath.Join(keys, "marketplace-ca.key")), Certificate: pki.IntermediateCertPath},
			{Name: chain.OriginPrivateBuild, URI: softURI(pb.KeyPath), Certificate: pb.CertPath},
		},
	}}, nil
}

// softURI names a software key file.
func softURI(path string) string {
	return kms.NewURI(softkms.Scheme, map[string]string{"path": path}).String()
}
