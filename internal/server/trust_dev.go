package server

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
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
	Admin        *TrustAdmin
	PrivateBuild *chain.DevIssued
	BundleSigner *chain.DevIssued
	ListSigner   *chain.DevIssued
}

// NewDevTrust creates (once) the development trust material under dataDir
// and returns a TrustAdmin whose CAs are the dev root, marketplace CA and
// private-build CA, all software keys loaded through registry.
func NewDevTrust(ctx context.Context, dataDir string, pki *chain.DevPKI, registry *kms.Registry, store *revocationstore.Store, rand io.Reader, now time.Time) (*DevTrust, error) {
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
	load := func(keyFile string) (kms.Signer, error) {
		s, err := registry.LoadSigner(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": filepath.Join(dataDir, "keys", keyFile)}))
		if err != nil {
			return nil, fmt.Errorf("server: dev trust: %w", err)
		}
		return s, nil
	}
	admin := &TrustAdmin{Store: store, ListIssuer: "signer dev", ListSignerCert: rs.Cert, Rand: rand}
	if admin.ListSigner, err = load("revocation-signer.key"); err != nil {
		return nil, err
	}
	for _, ca := range []struct {
		name, key string
		cert      *x509.Certificate
	}{
		{"root", "root-ca.key", pki.Root},
		{chain.OriginMarketplace, "marketplace-ca.key", pki.Intermediate},
		{chain.OriginPrivateBuild, "private-build-ca.key", pb.Cert},
	} {
		s, err := load(ca.key)
		if err != nil {
			return nil, err
		}
		admin.CAs = append(admin.CAs, CA{Name: ca.name, Cert: ca.cert, Signer: s})
	}
	if err := admin.check(); err != nil {
		return nil, err
	}
	return &DevTrust{Admin: admin, PrivateBuild: pb, BundleSigner: bs, ListSigner: rs}, nil
}
