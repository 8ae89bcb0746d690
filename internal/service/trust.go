package service

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/server"
)

// loadTrust reads the CA certificates published in trust bundles and
// checks that every intermediate chains to a root.
func loadTrust(t config.Trust) (server.Trust, error) {
	var out server.Trust
	load := func(paths []string) ([]*x509.Certificate, error) {
		var certs []*x509.Certificate
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("trust: %w", err)
			}
			c, err := chain.ParseCertificatePEM(b)
			if err != nil {
				return nil, fmt.Errorf("trust: %s: %w", p, err)
			}
			if !c.IsCA {
				return nil, fmt.Errorf("trust: %s is not a CA certificate", p)
			}
			certs = append(certs, c)
		}
		return certs, nil
	}
	var err error
	if out.Roots, err = load(t.Roots); err != nil {
		return out, err
	}
	if out.Intermediates, err = load(t.Intermediates); err != nil {
		return out, err
	}
	for i, c := range out.Intermediates {
		if c.NotAfter.Before(time.Now()) {
			continue // published until withdrawn; the start-up expiry warning names it
		}
		if err := chain.ChainsToRoots(c, out.Roots, out.Intermediates, time.Now()); err != nil {
			return out, fmt.Errorf("trust.intermediates[%d] %s: %w", i, t.Intermediates[i], err)
		}
	}
	return out, nil
}

// loadIssuer loads the issuing CA's key from its backend and checks it
// against the CA certificate, and that certificate against the trust
// bundle's roots, before trusting either.
func loadIssuer(ctx context.Context, reg *kms.Registry, ca config.CAKey, validity time.Duration, trust server.Trust) (keystore.Issuer, error) {
	signer, cert, err := loadCAKey(ctx, reg, "keys.ca", ca.URI, ca.Certificate, trust)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("keys.ca: %s is not a CA certificate", ca.Certificate)
	}
	return chain.Issuer{CA: cert, Key: kms.CryptoSigner(context.WithoutCancel(ctx), signer), Validity: validity, Rand: rand.Reader}, nil
}

// loadCAKey loads a key from its backend with its certificate, and checks
// that the certificate is for that key and chains to the trust bundle's
// roots before trusting either.
func loadCAKey(ctx context.Context, reg *kms.Registry, field, uriText, certFile string, trust server.Trust) (kms.Signer, *x509.Certificate, error) {
	uri, err := kms.ParseURI(uriText)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.uri: %w", field, err)
	}
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.certificate: %w", field, err)
	}
	cert, err := chain.ParseCertificatePEM(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.certificate: %w", field, err)
	}
	signer, err := reg.LoadSigner(ctx, uri)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", field, err)
	}
	if !signer.Public().Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s: the certificate %s is not for the key %s", field, certFile, uri)
	}
	if err := chain.ChainsToRoots(cert, trust.Roots, trust.Intermediates, time.Now()); err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %w (list its issuers in trust.roots and trust.intermediates)", field, certFile, err)
	}
	return signer, cert, nil
}

// loadTrustAdmin loads the keys TrustService signs revocation lists and
// CRLs with.
func loadTrustAdmin(ctx context.Context, reg *kms.Registry, store *revocationstore.Store, r config.Revocation, trust server.Trust) (*server.TrustAdmin, error) {
	admin := &server.TrustAdmin{Store: store, ListIssuer: r.Issuer, Rand: rand.Reader}
	var err error
	if admin.ListSigner, admin.ListSignerCert, err = loadCAKey(ctx, reg, "trust.revocation.list_signer", r.ListSigner.URI, r.ListSigner.Certificate, trust); err != nil {
		return nil, err
	}
	for i, ca := range r.CAs {
		field := fmt.Sprintf("trust.revocation.cas[%d]", i)
		signer, cert, err := loadCAKey(ctx, reg, field, ca.URI, ca.Certificate, trust)
		if err != nil {
			return nil, err
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("%s: %s is not a CA certificate", field, ca.Certificate)
		}
		admin.CAs = append(admin.CAs, server.CA{Name: ca.Name, Cert: cert, Signer: signer})
	}
	return admin, nil
}
