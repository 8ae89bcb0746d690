package main

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/atomicfile"
	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocation"
)

// Default lifetimes of the certificates `signerctl ca` issues.
const (
	caRootValidity         = 20 * 365 * 24 * time.Hour // 175200h
	caIntermediateValidity = 5 * 365 * 24 * time.Hour  // 43800h
	caSignerValidity       = 365 * 24 * time.Hour      // 8760h
)

func newCACommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Offline CA ceremony: create CA keys, issue root, intermediate and trust-metadata signer certificates",
		Long: `Set up the certificate hierarchy signer serve needs, offline, with keys in any
backend of the configuration (softkms, sealedkms, awskms, pkcs11):

  signerctl ca keygen        create a key in a backend, print its URI
  signerctl ca root          self-signed root CA
  signerctl ca intermediate  marketplace or private-build CA under the root
  signerctl ca signer        bundle or revocation-list signer under the root
  signerctl ca crl           X.509 CRL signed by a CA key (the offline root's CRL)
  signerctl ca show          inspect certificates, warn before they expire

--config is the service's YAML (only its backends section is read; a file
with nothing else is fine). PINs and passphrases come from the files or
environment variables that section names, never from a flag. Each issuing
command checks that --parent-key is the key of --parent-cert, writes --out
through a temporary file (0644), and refuses to replace it without --force.
See docs/trust.md, "Setting up the CA hierarchy".`,
	}
	cmd.AddCommand(newCAKeygenCommand(), newCARootCommand(), newCAIntermediateCommand(), newCASignerCommand(), newCACRLCommand(), newCAShowCommand())
	return cmd
}

func newCAKeygenCommand() *cobra.Command {
	var configPath, name, purpose, output string
	var b backendFlags
	cmd := &cobra.Command{
		Use:   "keygen --config FILE --backend SCHEME --name NAME [--purpose P] [--attr k=v]…",
		Short: "Create an Ed25519 key in a configured backend and print its URI",
		Long: `Create a key in the backend --backend (its section must be in --config) and
print the key URI to pass to --key / --parent-key, and the SHA-256 of its
public key. softkms and sealedkms write DIR/NAME.key or DIR/NAME.sealed
(0600); awskms creates an ECC_NIST_EDWARDS25519 key with alias/NAME; pkcs11
generates a non-extractable key pair labelled NAME on the token. An existing
name is refused. --purpose is recorded with the key where the backend can
(KMS tags, the sealed key's encryption context).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !purposeRE.MatchString(purpose) {
				return usagef("--purpose %q: use lowercase letters, digits and '-'", purpose)
			}
			spec, err := b.spec()
			if err != nil {
				return err
			}
			reg, err := openBackends(cmd, configPath)
			if err != nil {
				return err
			}
			defer reg.Close()
			be, err := reg.Backend(b.scheme)
			if err != nil {
				return usagef("--backend %s: %s has no backends.%s section", b.scheme, configPath, b.scheme)
			}
			creator, ok := be.(kms.KeyCreator)
			if !ok {
				return withCode(exitError, fmt.Errorf("--backend %s cannot create keys; create the key with the backend's own tools", b.scheme))
			}
			uri, err := creator.CreateKey(cmd.Context(), kms.CreateKeyRequest{Name: name, Purpose: purpose, Attrs: spec.GetAttributes()})
			if err != nil {
				return withCode(exitError, err)
			}
			s, err := reg.LoadSigner(cmd.Context(), uri)
			if err != nil {
				return withCode(exitError, fmt.Errorf("load the new key %s: %w", uri, err))
			}
			defer s.Close()
			fp, err := chain.KeyFingerprint(s.Public())
			if err != nil {
				return withCode(exitError, err)
			}
			if output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"uri": uri.String(), "key_fingerprint_sha256": fp})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s\nkey fingerprint (SHA-256 of SPKI) %s\n", uri, fp)
			return nil
		},
	}
	f := cmd.Flags()
	configFlag(cmd, &configPath, "")
	b.add(cmd, true)
	f.StringVar(&name, "name", "", "key name in the backend: file name, KMS alias or token label")
	requireFlags(cmd, "config", "name")
	f.StringVar(&purpose, "purpose", "ca", "what the key is for, e.g. root-ca, marketplace-ca, bundle-signer")
	addOutputFlag(cmd, &output, "text", "json")
	return cmd
}

var purposeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// caIssue holds what every issuing command takes.
type caIssue struct {
	config, key, cn, out, output string
	parentCert, parentKey        string
	validity                     time.Duration
	force                        bool
}

func (o *caIssue) addFlags(cmd *cobra.Command, validity time.Duration, withParent bool) {
	f := cmd.Flags()
	configFlag(cmd, &o.config, "")
	f.StringVar(&o.key, "key", "", "URI of the new certificate's key, e.g. pkcs11:token=T;object=O")
	f.StringVar(&o.cn, "cn", "", "subject common name")
	f.DurationVar(&o.validity, "validity", validity, "lifetime (capped at the parent's)")
	f.StringVar(&o.out, "out", "", "certificate file to write, PEM")
	f.BoolVar(&o.force, "force", false, "replace an existing --out")
	addOutputFlag(cmd, &o.output, "text", "json")
	if withParent {
		f.StringVar(&o.parentCert, "parent-cert", "", "issuing CA certificate, PEM")
		f.StringVar(&o.parentKey, "parent-key", "", "URI of the issuing CA's key")
		requireFlags(cmd, "parent-cert", "parent-key")
	}
	requireFlags(cmd, "config", "key", "cn", "out")
}

// check validates the flags before any key is touched.
func (o *caIssue) check(withParent bool) error {
	if o.validity <= 0 {
		return usagef("--validity %s must be positive", o.validity)
	}
	if _, err := kms.ParseURI(o.key); err != nil {
		return usagef("--key: %v", err)
	}
	if _, err := kms.ParseURI(o.parentKey); withParent && err != nil {
		return usagef("--parent-key: %v", err)
	}
	return o.checkOut()
}

// checkOut refuses an existing --out (without --force) or a missing
// directory before anything is signed.
func (o *caIssue) checkOut() error { return checkOutFile(o.out, "a certificate", o.force) }

// checkOutFile refuses an existing out (what it holds, for the message)
// without force, or a missing directory, before anything is signed.
func checkOutFile(out, what string, force bool) error {
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return usagef("--out %s: directory %s does not exist", out, filepath.Dir(out))
	}
	_, err := os.Lstat(out)
	switch {
	case err == nil && !force:
		return withCode(exitError, fmt.Errorf("--out %s already exists: refusing to replace %s (pass --force to replace it)", out, what))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return withCode(exitError, err)
	}
	return nil
}

// issueFunc issues the certificate for pub; parent is nil for a root, where
// parentKey is the root's own key.
type issueFunc func(parent *x509.Certificate, parentKey crypto.Signer, pub ed25519.PublicKey) (*x509.Certificate, error)

// run loads the keys, checks the parent, issues, writes and prints.
func (o *caIssue) run(cmd *cobra.Command, wantNotAfter time.Time, issue issueFunc) error {
	ctx := cmd.Context()
	reg, err := openBackends(cmd, o.config)
	if err != nil {
		return err
	}
	defer reg.Close()
	subject, err := loadBackendKey(cmd, reg, "--key", o.key)
	if err != nil {
		return err
	}
	defer subject.Close()
	var parent *x509.Certificate
	parentKey := subject
	if o.parentKey != "" {
		if parent, err = readOneCertificate(o.parentCert); err != nil {
			return err
		}
		if parentKey, err = loadBackendKey(cmd, reg, "--parent-key", o.parentKey); err != nil {
			return err
		}
		defer parentKey.Close()
		if err := o.checkParent(parent, parentKey.Public(), subject.Public()); err != nil {
			return err
		}
	}
	cert, err := issue(parent, kms.CryptoSigner(ctx, parentKey), subject.Public())
	if err != nil {
		return withCode(exitError, err)
	}
	if err := writeOutFile(o.out, chain.CertificatePEM(cert), o.force); err != nil {
		return withCode(exitError, fmt.Errorf("write %s: %w", o.out, err))
	}
	warnings := []string{}
	if cert.NotAfter.Before(wantNotAfter.Truncate(time.Second)) {
		warnings = append(warnings, fmt.Sprintf("%s: validity capped at the parent's end, %s", o.out, cert.NotAfter.Format(time.RFC3339)))
	}
	info := describeCertificate(o.out, cert)
	if o.output == "json" {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
			Wrote       string     `json:"wrote"`
			Certificate caCertInfo `json:"certificate"`
			Warnings    []string   `json:"warnings"`
		}{o.out, info, warnings})
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote %s\n", o.out)
	info.print(w)
	printWarnings(cmd, warnings)
	return nil
}

// checkParent refuses a parent that cannot have issued anything verifiable
// with parentPub, before the parent key signs.
func (o *caIssue) checkParent(parent *x509.Certificate, parentPub, subjectPub ed25519.PublicKey) error {
	name := fmt.Sprintf("--parent-cert %s (%s)", o.parentCert, parent.Subject)
	if err := checkIssuerCert(parent, name, x509.KeyUsageCertSign, "issue certificates", time.Now()); err != nil {
		return err
	}
	if err := checkIssuerKey(parent, name, "--parent-key", o.parentKey, parentPub); err != nil {
		return err
	}
	if subjectPub.Equal(parentPub) {
		return withCode(exitError, fmt.Errorf("--key %s is the parent's own key: give the new certificate a key of its own", o.key))
	}
	return nil
}

// checkIssuerCert refuses an issuing certificate (name: how errors call it)
// that is not a CA with key usage usage (what: what that lets it do) or has
// expired.
func checkIssuerCert(c *x509.Certificate, name string, usage x509.KeyUsage, what string, now time.Time) error {
	switch {
	case !c.IsCA || c.KeyUsage&usage == 0:
		return withCode(exitError, fmt.Errorf("%s is not a CA certificate allowed to %s", name, what))
	case now.After(c.NotAfter):
		return withCode(exitError, fmt.Errorf("%s expired at %s", name, c.NotAfter.Format(time.RFC3339)))
	}
	return nil
}

// checkIssuerKey refuses a key (keyURI, given by keyFlag) that is not the
// key of certificate c, naming both fingerprints.
func checkIssuerKey(c *x509.Certificate, name, keyFlag, keyURI string, pub ed25519.PublicKey) error {
	if certPub, ok := c.PublicKey.(ed25519.PublicKey); ok && certPub.Equal(pub) {
		return nil
	}
	keyFP, _ := chain.KeyFingerprint(pub)
	return withCode(exitError, fmt.Errorf("%s %s is not the key of %s: key fingerprint %s, the certificate's is %s",
		keyFlag, keyURI, name, keyFP, hex.EncodeToString(spkiSHA256(c))))
}

func newCARootCommand() *cobra.Command {
	var o caIssue
	cmd := &cobra.Command{
		Use:   "root --config FILE --key URI --cn NAME --out FILE [--validity D]",
		Short: "Issue the self-signed root CA certificate for a key in a backend",
		Long: `Issue a self-signed Ed25519 root CA certificate for --key, signed by that
key: path length 1 (one level of intermediate CAs below it), key usage
certificate and CRL signing. Publish the printed fingerprint out of band:
customers compare it on a first install (docs/trust.md).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(false); err != nil {
				return err
			}
			now := time.Now()
			return o.run(cmd, now.Add(o.validity), func(_ *x509.Certificate, key crypto.Signer, _ ed25519.PublicKey) (*x509.Certificate, error) {
				return chain.NewRootCA(rand.Reader, key, o.cn, now, o.validity)
			})
		},
	}
	o.addFlags(cmd, caRootValidity, false)
	return cmd
}

func newCAIntermediateCommand() *cobra.Command {
	var o caIssue
	var origin, notBefore string
	cmd := &cobra.Command{
		Use:   "intermediate --config FILE --parent-cert FILE --parent-key URI --key URI --origin marketplace|private-build --cn NAME --out FILE [--validity D] [--not-before TIME]",
		Short: "Issue a marketplace or private-build intermediate CA certificate under the root",
		Long: `Issue an intermediate CA certificate (path length 0) for --key under the root
--parent-cert, signed by --parent-key. --origin private-build adds the
private-build certificate policy (.3), so vendor certificates it issues are
recognised as private builds.

By default the certificate is valid from 5 minutes ago. --not-before TIME
(RFC 3339) makes it valid from TIME to TIME+validity instead: ship the next
intermediate in a trust bundle before it goes live.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			newCA, ok := map[string]newCAFunc{
				chain.OriginMarketplace:  chain.NewIntermediateCA,
				chain.OriginPrivateBuild: chain.NewPrivateBuildCA,
			}[origin]
			if !ok {
				return usagef("--origin %q: use %s or %s", origin, chain.OriginMarketplace, chain.OriginPrivateBuild)
			}
			now, validity := time.Now(), o.validity
			wantNotAfter := now.Add(validity)
			if notBefore != "" {
				t, err := time.Parse(time.RFC3339, notBefore)
				if err != nil {
					return usagef("--not-before %q: want RFC 3339, e.g. 2027-01-01T00:00:00Z", notBefore)
				}
				if validity <= chain.Backdate {
					return usagef("--validity %s must be longer than %s with --not-before", validity, chain.Backdate)
				}
				// chain starts validity Backdate before the issuing time: issue
				// "at" TIME+Backdate so that NotBefore is exactly TIME and
				// NotAfter TIME+validity.
				now, validity, wantNotAfter = t.Add(chain.Backdate), validity-chain.Backdate, t.Add(validity)
			}
			if err := o.check(true); err != nil {
				return err
			}
			return o.run(cmd, wantNotAfter, func(parent *x509.Certificate, key crypto.Signer, pub ed25519.PublicKey) (*x509.Certificate, error) {
				if notBefore != "" && !now.Add(-chain.Backdate).Before(parent.NotAfter) {
					return nil, fmt.Errorf("--not-before %s is not before the parent's end, %s", notBefore, parent.NotAfter.Format(time.RFC3339))
				}
				return newCA(rand.Reader, parent, key, pub, o.cn, now, validity)
			})
		},
	}
	o.addFlags(cmd, caIntermediateValidity, true)
	cmd.Flags().StringVar(&origin, "origin", "", "marketplace or private-build")
	requireFlags(cmd, "origin")
	completeValues(cmd, "origin", chain.OriginMarketplace, chain.OriginPrivateBuild)
	cmd.Flags().StringVar(&notBefore, "not-before", "", "start of validity, RFC 3339 (default: now - 5m)")
	return cmd
}

// newCAFunc is the signature of chain's intermediate CA constructors.
type newCAFunc func(io.Reader, *x509.Certificate, crypto.Signer, ed25519.PublicKey, string, time.Time, time.Duration) (*x509.Certificate, error)

func newCASignerCommand() *cobra.Command {
	var o caIssue
	var role string
	cmd := &cobra.Command{
		Use:   "signer --config FILE --parent-cert FILE --parent-key URI --key URI --role bundle|revocation --cn NAME --out FILE [--validity D]",
		Short: "Issue a trust-bundle or revocation-list signer certificate",
		Long: `Issue a trust-metadata signer certificate for --key under --parent-cert (the
root): not a CA, extended key usage id-kp-documentSigning, and one
certificate policy naming what it may sign: .1 trust-bundle manifests
(--role bundle) or .2 revocation lists (--role revocation). Such a key can
never sign an app, and an app-signing key can never sign trust metadata.
Put the key where large messages can be signed (sealedkms, pkcs11,
softkms): a native AWS KMS key signs at most 4096 bytes.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			policy := map[string]x509.OID{"bundle": bundle.SigningPolicy(), "revocation": revocation.RevocationSigningPolicy()}
			purpose, ok := policy[role]
			if !ok {
				return usagef("--role %q: use bundle or revocation", role)
			}
			if err := o.check(true); err != nil {
				return err
			}
			now := time.Now()
			return o.run(cmd, now.Add(o.validity), func(parent *x509.Certificate, key crypto.Signer, pub ed25519.PublicKey) (*x509.Certificate, error) {
				return revocation.NewSignerCertificate(rand.Reader, parent, key, pub, o.cn, purpose, now, o.validity)
			})
		},
	}
	o.addFlags(cmd, caSignerValidity, true)
	cmd.Flags().StringVar(&role, "role", "", "bundle or revocation")
	requireFlags(cmd, "role")
	completeValues(cmd, "role", "bundle", "revocation")
	return cmd
}

func newCAShowCommand() *cobra.Command {
	var output string
	var failWithin time.Duration
	cmd := &cobra.Command{
		Use:   "show [--output text|json] [--fail-within D] FILE...",
		Short: "Print certificates: subject, issuer, serial, validity, fingerprints, CA constraints",
		Long: `Print each PEM certificate of each FILE: subject, issuer, serial (hex),
validity, the SHA-256 of its public key (SubjectPublicKeyInfo, the form
revocation lists use) and of the certificate (what customers pin), whether it
is a CA and its path length, and its profile. Certificates expiring within 30
days get a warning on stderr; the exit status stays 0 unless --fail-within D
is given and a certificate expires within D (exit 5).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("want at least one certificate FILE")
			}
			if failWithin < 0 {
				return usagef("--fail-within %s must not be negative", failWithin)
			}
			var infos []caCertInfo
			var certs []*x509.Certificate
			for _, path := range args {
				cs, err := readPEMCertificates(path)
				if err != nil {
					return err
				}
				for _, c := range cs {
					infos = append(infos, describeCertificate(path, c))
					certs = append(certs, c)
				}
			}
			now := time.Now()
			warnings := []string{}
			for i, c := range certs {
				if len(chain.ExpiresSoon([]*x509.Certificate{c}, now, max(chain.RenewWindow, failWithin))) > 0 {
					warnings = append(warnings, expiryWarning(infos[i], now))
				}
			}
			if output == "json" {
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
					Certificates []caCertInfo `json:"certificates"`
					Warnings     []string     `json:"warnings"`
				}{infos, warnings}); err != nil {
					return err
				}
			} else {
				for _, info := range infos {
					info.print(cmd.OutOrStdout())
				}
				printWarnings(cmd, warnings)
			}
			if failWithin > 0 {
				if soon := chain.ExpiresSoon(certs, now, failWithin); len(soon) > 0 {
					return withCode(exitExpired, fmt.Errorf("%d certificate(s) expire within %s", len(soon), failWithin))
				}
			}
			return nil
		},
	}
	addOutputFlag(cmd, &output, "text", "json")
	cmd.Flags().DurationVar(&failWithin, "fail-within", 0, "exit 5 if a certificate expires within this duration, e.g. 720h")
	return cmd
}

func expiryWarning(info caCertInfo, now time.Time) string {
	if now.After(info.NotAfter) {
		return fmt.Sprintf("%s: %q expired at %s", info.File, info.Subject, info.NotAfter.Format(time.RFC3339))
	}
	return fmt.Sprintf("%s: %q expires at %s, in %d day(s): issue its successor now", info.File, info.Subject,
		info.NotAfter.Format(time.RFC3339), int(info.NotAfter.Sub(now).Hours()/24))
}

// caCertInfo is what `ca show` prints of one certificate.
type caCertInfo struct {
	File           string    `json:"file"`
	Profile        string    `json:"profile"`
	Subject        string    `json:"subject"`
	Issuer         string    `json:"issuer"`
	Serial         string    `json:"serial"`
	NotBefore      time.Time `json:"not_before"`
	NotAfter       time.Time `json:"not_after"`
	KeyFingerprint string    `json:"key_fingerprint_sha256"`
	Fingerprint    string    `json:"fingerprint_sha256"`
	CA             bool      `json:"ca"`
	// MaxPathLen is the CA's path length constraint; absent: unlimited.
	MaxPathLen *int     `json:"max_path_len,omitempty"`
	Policies   []string `json:"policies,omitempty"`
}

func describeCertificate(file string, c *x509.Certificate) caCertInfo {
	info := caCertInfo{
		File: file, Profile: profileOf(c), Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		KeyFingerprint: hex.EncodeToString(spkiSHA256(c)), Fingerprint: bundle.Fingerprint(c), CA: c.IsCA,
	}
	if c.IsCA && (c.MaxPathLen > 0 || c.MaxPathLenZero) {
		n := c.MaxPathLen
		info.MaxPathLen = &n
	}
	for _, p := range c.Policies {
		info.Policies = append(info.Policies, p.String())
	}
	return info
}

func (i caCertInfo) print(w io.Writer) {
	ca := "no"
	if i.CA {
		ca = "yes, path length unlimited"
		if i.MaxPathLen != nil {
			ca = fmt.Sprintf("yes, path length %d", *i.MaxPathLen)
		}
	}
	fmt.Fprintf(w, "%s: %s\n", i.File, i.Profile)
	rows := [][2]string{
		{"subject", i.Subject}, {"issuer", i.Issuer}, {"serial", i.Serial},
		{"valid", i.NotBefore.Format(time.RFC3339) + " to " + i.NotAfter.Format(time.RFC3339)},
		{"key sha256", i.KeyFingerprint}, {"fingerprint", colonHex(i.Fingerprint)}, {"CA", ca},
	}
	for _, p := range i.Policies {
		rows = append(rows, [2]string{"policy", p})
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-12s %s\n", r[0], r[1])
	}
}

// profileOf names the role a certificate has in the hierarchy.
func profileOf(c *x509.Certificate) string {
	has := func(oid x509.OID) bool { return slices.ContainsFunc(c.Policies, oid.Equal) }
	switch {
	case c.IsCA && bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil:
		return "root CA"
	case c.IsCA && has(chain.PrivateBuildPolicy()):
		return "private-build intermediate CA"
	case c.IsCA:
		return "intermediate CA"
	case has(bundle.SigningPolicy()):
		return "trust-bundle signer"
	case has(revocation.RevocationSigningPolicy()):
		return "revocation-list signer"
	case slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageCodeSigning):
		return "code signing"
	}
	return "end entity"
}

// spkiSHA256 is the key fingerprint of any certificate: the SHA-256 of its
// DER SubjectPublicKeyInfo, as chain.KeyFingerprint computes for Ed25519.
func spkiSHA256(c *x509.Certificate) []byte {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return sum[:]
}

// writeOutFile writes data to path (0644) atomically. Without replace an
// existing path is refused, even one created meanwhile.
func writeOutFile(path string, data []byte, replace bool) error {
	if replace {
		return atomicfile.Write(path, data, 0o644)
	}
	err := atomicfile.Create(path, data, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s appeared while issuing; pass --force to replace it", path)
	}
	return err
}
