package revocation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/appsign/signer/internal/kms"
)

// CRLEntry is one revoked certificate of a CRL.
type CRLEntry struct {
	Serial    *big.Int
	RevokedAt time.Time
	Reason    Reason
}

// BuildCRL issues an RFC 5280 v2 CRL (DER) for issuerCert, signed by
// issuerSigner, the CA's key in any kms backend, through kms.CryptoSigner.
// number is the CRL number and must grow with every CRL of the CA; the CRL
// is valid from thisUpdate to nextUpdate. The CA must be allowed to sign
// CRLs and have a subject key identifier (every CA package chain issues
// does). The result is parsed and its signature checked against
// issuerCert before it is returned. Errors wrap ErrInvalidList for bad
// input.
func BuildCRL(ctx context.Context, issuerCert *x509.Certificate, issuerSigner kms.Signer, number *big.Int, entries []CRLEntry, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	if err := checkCRLRequest(issuerCert, issuerSigner, number, thisUpdate, nextUpdate); err != nil {
		return nil, fmt.Errorf("revocation: build crl: %w: %w", ErrInvalidList, err)
	}
	tmpl := &x509.RevocationList{
		Number:     number,
		ThisUpdate: thisUpdate.UTC(),
		NextUpdate: nextUpdate.UTC(),
	}
	seen := make(map[string]bool)
	for _, e := range entries {
		if e.Serial == nil || e.Serial.Sign() <= 0 {
			return nil, fmt.Errorf("revocation: build crl: %w: serial must be positive", ErrInvalidList)
		}
		if e.RevokedAt.IsZero() {
			return nil, fmt.Errorf("revocation: build crl: %w: serial %x has no revocation time", ErrInvalidList, e.Serial)
		}
		if err := checkReason(e.Reason); err != nil {
			return nil, fmt.Errorf("revocation: build crl: %w: serial %x: %w", ErrInvalidList, e.Serial, err)
		}
		if seen[e.Serial.String()] {
			return nil, fmt.Errorf("revocation: build crl: %w: serial %x listed twice", ErrInvalidList, e.Serial)
		}
		seen[e.Serial.String()] = true
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber:   e.Serial,
			RevocationTime: e.RevokedAt.UTC(),
			ReasonCode:     e.Reason.CRLCode(),
		})
	}
	// Ed25519 signatures are deterministic: crypto/x509 needs no randomness.
	der, err := x509.CreateRevocationList(nil, tmpl, issuerCert, kms.CryptoSigner(ctx, issuerSigner))
	if err != nil {
		return nil, fmt.Errorf("revocation: build crl for %q: %w", issuerCert.Subject, err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("revocation: build crl: parse result: %w", err)
	}
	if err := crl.CheckSignatureFrom(issuerCert); err != nil {
		return nil, fmt.Errorf("revocation: build crl: %w: result does not verify under %q: %v", ErrBadSignature, issuerCert.Subject, err)
	}
	return der, nil
}

func checkCRLRequest(issuer *x509.Certificate, signer kms.Signer, number *big.Int, thisUpdate, nextUpdate time.Time) error {
	switch {
	case issuer == nil || signer == nil:
		return errors.New("no issuer certificate or key")
	case !issuer.IsCA || issuer.KeyUsage&x509.KeyUsageCRLSign == 0:
		return fmt.Errorf("%q is not a CA allowed to sign CRLs", issuer.Subject)
	case number == nil || number.Sign() <= 0:
		return errors.New("CRL number must be positive")
	case thisUpdate.IsZero() || !nextUpdate.After(thisUpdate):
		return errors.New("next update must be after this update")
	}
	pub, ok := issuer.PublicKey.(ed25519.PublicKey)
	if !ok || !bytes.Equal(pub, signer.Public()) {
		return fmt.Errorf("key %s is not the key of %q", signer.URI(), issuer.Subject)
	}
	return nil
}

// CRLEntriesFor returns the certificate entries of l issued by issuer (by
// issuer DN), as CRL entries revoked from their effective time. Key
// entries have no serial and no place in a CRL: revoke the certificates
// of a compromised key by serial too.
func CRLEntriesFor(l *List, issuer *x509.Certificate) []CRLEntry {
	if l == nil || issuer == nil {
		return nil
	}
	dn := issuer.Subject.String()
	var out []CRLEntry
	for _, c := range l.Certificates {
		if c.Issuer != dn {
			continue
		}
		n, ok := new(big.Int).SetString(c.Serial, 16)
		if !ok {
			continue // validate() guarantees canonical hex
		}
		out = append(out, CRLEntry{Serial: n, RevokedAt: c.EffectiveFrom, Reason: c.Reason})
	}
	return out
}
