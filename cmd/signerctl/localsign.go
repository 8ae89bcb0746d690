package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/eddsa"
	"github.com/appsign/signer/internal/kms/softkms"
)

// localSignOptions are the flags of offline signing with a key file.
type localSignOptions struct {
	key, cert, chain, out string
	embedCert             string
}

// withLocalSign adds offline signing to the sign command: with --key the
// archive is signed here, with the caller's own key, and no server is
// contacted (private builds with a vendor certificate, custom apps with a
// self-signed one). Without --key the command signs through the server as
// before.
func withLocalSign(cmd *cobra.Command) *cobra.Command {
	var o localSignOptions
	remote := cmd.RunE
	cmd.Use = "sign (--server ADDR --app-key KEY --version V | --key FILE --cert FILE [--chain FILE]) [--out FILE] ARCHIVE"
	cmd.Long += `

Offline (--key): sign ARCHIVE here with the Ed25519 key in FILE (PKCS#8 PEM,
mode 0600) and its certificate --cert: a vendor's private-build certificate
(from ` + "`signerctl vendor certify`" + `, with --chain naming the private-build CA
it chains through) or a custom app's self-signed certificate (from
` + "`signerctl custom init`" + `). Nothing is sent anywhere and nothing is recorded.
The signature is checked against the certificate (and the chain) before the
file is written. A self-signed certificate is left out of the signature file
by default (--embed-cert auto): the installing instance takes it from its
trust store.`
	f := cmd.Flags()
	f.StringVar(&o.key, "key", "", "sign offline with this Ed25519 key file (PKCS#8 PEM); no server is used")
	f.StringVar(&o.cert, "cert", "", "with --key: the key's certificate (PEM)")
	f.StringVar(&o.chain, "chain", "", "with --key: CA certificates (PEM) the certificate chains through, to check it before signing")
	f.StringVar(&o.embedCert, "embed-cert", "auto", "with --key: put the certificate in the signature file: auto (not for a self-signed certificate), always or never")
	completeValues(cmd, "embed-cert", "auto", "always", "never")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if o.key == "" {
			if o.cert != "" || o.chain != "" {
				return usagef("--cert and --chain go with --key (offline signing)")
			}
			return remote(cmd, args)
		}
		if s, _ := cmd.Flags().GetString("server"); s != "" {
			return usagef("--key signs offline: drop --server")
		}
		o.out, _ = cmd.Flags().GetString("out")
		return runLocalSign(cmd, o, args[0])
	}
	return cmd
}

func runLocalSign(cmd *cobra.Command, o localSignOptions, archive string) error {
	if o.cert == "" {
		return usagef("--key needs --cert FILE, the key's certificate")
	}
	if o.embedCert != "auto" && o.embedCert != "always" && o.embedCert != "never" {
		return usagef("--embed-cert %q: use auto, always or never", o.embedCert)
	}
	if o.out == "" {
		o.out = archive + ".sig"
	}
	key, err := softkms.ReadKeyFile(o.key)
	if err != nil {
		return withCode(exitError, fmt.Errorf("signing key: %w", err))
	}
	defer clear(key)
	certPEM, err := os.ReadFile(o.cert)
	if err != nil {
		return withCode(exitError, fmt.Errorf("certificate: %w", err))
	}
	cert, err := chain.ParseCertificatePEM(certPEM)
	if err != nil {
		return withCode(exitMalformed, fmt.Errorf("certificate %s: %w", o.cert, err))
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(key.Public()) {
		return withCode(exitUntrusted, fmt.Errorf("certificate %s is not the certificate of key %s", o.cert, o.key))
	}
	selfSigned := bytes.Equal(cert.RawIssuer, cert.RawSubject) && cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) == nil
	if err := checkLocalChain(cert, o.chain, selfSigned); err != nil {
		return err
	}
	f, err := os.Open(archive)
	if err != nil {
		return withCode(exitError, fmt.Errorf("open archive: %w", err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	sig, err := eddsa.Sign(cmd.Context(), key, f, info.Size())
	if err != nil {
		return fmt.Errorf("sign %s: %w", archive, err)
	}
	// Check what we are about to hand out, as the installing instance will.
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	if err := eddsa.Verify(cmd.Context(), key.Public().(ed25519.PublicKey), f, sig); err != nil {
		return fmt.Errorf("sign %s: the signature does not verify (was the archive changed while signing?): %w", archive, err)
	}
	sf := chain.SignatureFile{Signature: sig}
	if o.embedCert == "always" || (o.embedCert == "auto" && !selfSigned) {
		sf.Certificate = chain.CertificatePEM(cert)
	}
	b, err := sf.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, b, 0o644); err != nil {
		return fmt.Errorf("write signature file: %w", err)
	}
	origin := chain.OriginMarketplace
	switch _, scoped := chain.AppKeyScope(cert); {
	case selfSigned:
		origin = chain.OriginCustom
	case scoped:
		origin = chain.OriginPrivateBuild
	}
	embedded := "certificate embedded"
	if sf.Certificate == nil {
		embedded = "no certificate: verifiers take it from their trust store"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "signed %s offline (%s, %q, serial %x, valid until %s), wrote %s (%s)\n",
		archive, origin, cert.Subject.String(), cert.SerialNumber, cert.NotAfter.Format("2006-01-02"), o.out, embedded)
	if left := time.Until(cert.NotAfter); left < chain.RenewWindow {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: certificate %s expires in %s\n", o.cert, left.Round(time.Hour))
	}
	return nil
}

// checkLocalChain refuses to sign with a certificate that is expired, not
// for code signing, or (with --chain) not issued by the chain's CAs.
func checkLocalChain(cert *x509.Certificate, chainFile string, selfSigned bool) error {
	now := time.Now()
	if now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return withCode(exitExpired, fmt.Errorf("certificate %q is valid from %s to %s only", cert.Subject, cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339)))
	}
	if chainFile == "" {
		if !selfSigned {
			return nil // verifiers check the path; we cannot without the CAs
		}
		// Trusted directly by the customer's trust store: only the profile matters.
		if cert.IsCA || (cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageDigitalSignature == 0) ||
			(len(cert.ExtKeyUsage) > 0 && !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageCodeSigning)) {
			return withCode(exitUntrusted, fmt.Errorf("certificate %q is not a code-signing certificate", cert.Subject))
		}
		return nil
	}
	ts, err := loadPEMTrust(chainFile)
	if err != nil {
		return err
	}
	if len(ts.Roots()) == 0 {
		// The chain file holds intermediates only: check the issuing signature.
		for _, ca := range ts.Intermediates() {
			if cert.CheckSignatureFrom(ca) == nil {
				return nil
			}
		}
		return withCode(exitUntrusted, fmt.Errorf("certificate %q is not issued by a CA in %s", cert.Subject, chainFile))
	}
	if _, err := ts.VerifySigningCertificate(cert, now); err != nil {
		return withCode(exitUntrusted, fmt.Errorf("certificate does not chain through %s: %w", chainFile, err))
	}
	return nil
}

// loadPEMTrust reads a file of PEM certificates into a trust store.
func loadPEMTrust(path string) (*chain.TrustStore, error) {
	certs, err := readPEMCertificates(path)
	if err != nil {
		return nil, err
	}
	return chain.NewTrustStore(certs...), nil
}

// readPEMCertificates reads a file of PEM certificates and nothing else
// (chain's strict parser: no other block types, no text around them).
func readPEMCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, withCode(exitError, err)
	}
	certs, err := chain.ParseCertificatesPEM(b)
	if err != nil {
		return nil, withCode(exitMalformed, fmt.Errorf("%s: %w", path, err))
	}
	return certs, nil
}
