package bundle

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

// checkContents parses every file by role, checks it against its entry
// and the bundle's rules, and fills v.
func checkContents(d *bundleDir, m *Manifest, v *Verified, now time.Time) error {
	var roots, inters []*x509.Certificate
	certFiles := make(map[string]*x509.Certificate)
	for _, f := range m.Files {
		b, _ := d.read(f.Name) // cached by checkDigests
		got, err := describe(f.Role, b)
		if err != nil {
			return fmt.Errorf("%s: %w: %v", f.Name, ErrMalformed, err)
		}
		if !sameFile(got, f) {
			return fmt.Errorf("%s: %w: the %s entry does not describe this file (name, subject, dates, fingerprint or version)", f.Name, ErrMalformed, ManifestFile)
		}
		if !isCertRole(f.Role) {
			continue
		}
		c, _ := chain.ParseCertificatePEM(b) // describe parsed it
		certFiles[f.Name] = c
		switch f.Role {
		case RoleRoot:
			roots = append(roots, c)
			v.Certificates = append(v.Certificates, chain.TrustCert{FileName: f.Name, PEM: string(b), Role: f.Role, Cert: c})
		case RoleIntermediate:
			inters = append(inters, c)
			v.Certificates = append(v.Certificates, chain.TrustCert{FileName: f.Name, PEM: string(b), Role: f.Role, Cert: c})
		case RoleSigner:
			if !c.Equal(v.Signer) {
				return fmt.Errorf("%s: %w: not the certificate that verified the signature", f.Name, ErrMalformed)
			}
		}
	}
	cas := append(slices.Clone(roots), inters...)
	validUntil := time.Time{}
	for _, f := range m.Files {
		c := certFiles[f.Name]
		if c == nil {
			continue
		}
		var err error
		switch f.Role {
		case RoleRoot:
			err = checkRoot(c)
		case RoleIntermediate:
			err = checkIntermediate(c, cas)
		}
		if err != nil {
			return fmt.Errorf("%s: %w: %v", f.Name, ErrMalformed, err)
		}
		if now.After(c.NotAfter) {
			return fmt.Errorf("%s: %w: %q expired at %s", f.Name, ErrExpired, c.Subject, c.NotAfter.Format(time.RFC3339))
		}
		if c.NotAfter.Before(now.Add(ExpiryWarning)) {
			v.Warnings = append(v.Warnings, fmt.Sprintf("%s: certificate %q expires at %s, in %d days",
				f.Name, c.Subject, c.NotAfter.Format(time.RFC3339), int(c.NotAfter.Sub(now).Hours()/24)))
		}
		if validUntil.IsZero() || c.NotAfter.Before(validUntil) {
			validUntil = c.NotAfter
		}
	}
	if !validUntil.Equal(m.ValidUntil) {
		return fmt.Errorf("%s: %w: valid_until %s is not the earliest certificate expiry %s", ManifestFile, ErrMalformed,
			m.ValidUntil.Format(time.RFC3339), validUntil.Format(time.RFC3339))
	}
	return checkRevocationData(d, m, v, roots, inters, now)
}

// checkRevocationData verifies the revocation list and CRLs against the
// bundle's own (now authenticated) CAs.
func checkRevocationData(d *bundleDir, m *Manifest, v *Verified, roots, inters []*x509.Certificate, now time.Time) error {
	cas := append(slices.Clone(roots), inters...)
	for _, f := range m.Files {
		b, _ := d.read(f.Name)
		switch f.Role {
		case RoleRevocationList:
			l, _, err := revocation.VerifyTrusted(b, roots, inters, now)
			switch {
			case errors.Is(err, revocation.ErrStale):
				v.Warnings = append(v.Warnings, fmt.Sprintf("%s: %v", f.Name, err))
			case err != nil:
				return fmt.Errorf("%s: %w: %v", f.Name, ErrUntrusted, err)
			}
			v.RevocationList, v.RevocationListVersion = b, l.Version
		case RoleCRL:
			crl, err := checkCRL(b, cas)
			if err != nil {
				return fmt.Errorf("%s: %w: %v", f.Name, ErrUntrusted, err)
			}
			if stale := crlStale(crl, now); stale != "" {
				v.Warnings = append(v.Warnings, f.Name+": "+stale)
			}
			v.CRLs = append(v.CRLs, CRLFile{Name: f.Name, DER: b, Issuer: crl.Issuer.String(), Number: crl.Number})
		}
	}
	return nil
}
