package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

type bundleExportOptions struct {
	key, config, keyURI, signerCert, out, revocationList string
	conn                                                 client
	version                                              uint64
	roots, intermediates, crls                           []string
}

func newBundleExportCommand() *cobra.Command {
	var o bundleExportOptions
	cmd := &cobra.Command{
		Use:   "export (--key FILE | --config FILE --key-uri URI) --signer-cert FILE --version N --out DIR [--roots FILE…] [--intermediates FILE…] [--revocation-list FILE] [--crl FILE…]",
		Short: "Write a signed, versioned trust bundle directory",
		Long: `Write DIR (which must not exist): the CA certificates, the manifest signer's
certificate, optionally the signed revocation list and CRLs, manifest.json
describing every file with its SHA-256 and SHA-512, manifest.sig (pure Ed25519
over manifest.json by the bundle-signing key), and SHA256SUMS / SHA512SUMS.

The bundle-signing key is either a software key, --key (a key file path or a
softkms: URI; an encrypted file reads $SIGNER_KEY_PASSPHRASE), or a key in
any backend, --key-uri (e.g. pkcs11:token=T;object=O), reached through the
backends section of --config as 'signerctl ca' does; give exactly one.
--signer-cert is its certificate: a bundle-signing certificate (policy .1)
under a root of the bundle, or the root itself; a certificate of another
key is refused before anything is signed.

Without --roots/--intermediates the CAs come from the server's trust bundle
(--server). --version must grow with every bundle you publish.

Prints each root's SHA-256 fingerprint (publish it out of band for first
installs) and the SHA-256 of SHA256SUMS.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBundleExport(cmd, o)
		},
	}
	f := cmd.Flags()
	addConnFlags(cmd, &o.conn)
	f.StringVar(&o.key, "key", "", "bundle-signing software key: key file or softkms: URI")
	configFlag(cmd, &o.config, "(for --key-uri)")
	f.StringVar(&o.keyURI, "key-uri", "", "bundle-signing key in any backend of --config, e.g. pkcs11:token=T;object=O")
	f.StringVar(&o.signerCert, "signer-cert", "", "certificate of the bundle-signing key, PEM")
	f.Uint64Var(&o.version, "version", 0, "bundle version, greater than the last one published")
	f.StringVar(&o.out, "out", "", "bundle directory to create")
	f.StringArrayVar(&o.roots, "roots", nil, "PEM file of root CA certificates (repeatable)")
	f.StringArrayVar(&o.intermediates, "intermediates", nil, "PEM file of intermediate CA certificates (repeatable)")
	f.StringVar(&o.revocationList, "revocation-list", "", "signed revocation list to include (revocation.json)")
	f.StringArrayVar(&o.crls, "crl", nil, "DER CRL to include (repeatable)")
	requireFlags(cmd, "signer-cert", "version", "out")
	// The key is a software key (--key) or one in a backend of --config (--key-uri).
	exactlyOne(cmd, "key", "key-uri")
	cmd.MarkFlagsRequiredTogether("key-uri", "config")
	return cmd
}

func runBundleExport(cmd *cobra.Command, o bundleExportOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	b := bundle.Bundle{Version: o.version}
	var err error
	if b.SignerCertificate, err = readOneCertificate(o.signerCert); err != nil {
		return err
	}
	if len(o.roots) == 0 && len(o.intermediates) == 0 {
		if b.Roots, b.Intermediates, err = serverCAs(cmd, &o.conn); err != nil {
			return err
		}
	} else {
		for _, p := range o.roots {
			cs, err := readPEMCertificates(p)
			if err != nil {
				return err
			}
			b.Roots = append(b.Roots, cs...)
		}
		for _, p := range o.intermediates {
			cs, err := readPEMCertificates(p)
			if err != nil {
				return err
			}
			b.Intermediates = append(b.Intermediates, cs...)
		}
	}
	if o.revocationList != "" {
		if b.RevocationList, err = os.ReadFile(o.revocationList); err != nil {
			return withCode(exitError, err)
		}
	}
	for _, p := range o.crls {
		der, err := os.ReadFile(p)
		if err != nil {
			return withCode(exitError, err)
		}
		b.CRLs = append(b.CRLs, der)
	}
	signer, closeSigner, err := o.loadSigner(cmd)
	if err != nil {
		return err
	}
	defer closeSigner()
	if err := bundle.Export(cmd.Context(), o.out, b, signer, time.Now()); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote bundle version %d to %s\n", o.version, o.out)
	for _, r := range b.Roots {
		fmt.Fprintf(w, "root %q SHA-256 fingerprint %s\n", r.Subject.String(), colonHex(bundle.Fingerprint(r)))
	}
	sums, err := os.ReadFile(filepath.Join(o.out, bundle.SHA256SumsFile))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "sha256(%s) = %x\n", bundle.SHA256SumsFile, sha256.Sum256(sums))
	return nil
}

// check validates the flags before any file is read or key touched.
func (o bundleExportOptions) check() error {
	if o.version == 0 {
		return usagef("--version must be 1 or more")
	}
	if o.keyURI != "" {
		if _, err := kms.ParseURI(o.keyURI); err != nil {
			return usagef("--key-uri: %v", err)
		}
	}
	// Export refuses it too; say so before the server or a backend is asked.
	if _, err := os.Lstat(o.out); err == nil {
		return withCode(exitError, fmt.Errorf("--out %s already exists: a bundle directory is never replaced; choose a new one", o.out))
	}
	return nil
}

// loadSigner loads the bundle-signing key of --key or --key-uri.
func (o bundleExportOptions) loadSigner(cmd *cobra.Command) (kms.Signer, func(), error) {
	if o.keyURI == "" {
		return loadKey(cmd, o.key)
	}
	return openBackendKey(cmd, o.config, "--key-uri", o.keyURI)
}

// loadKey loads a software signing key named by a softkms URI or a plain
// key file path; keys in other backends take --config and --key-uri.
func loadKey(cmd *cobra.Command, s string) (kms.Signer, func(), error) {
	var uri kms.URI
	if u, err := kms.ParseURI(s); err == nil && u.Scheme != softkms.Scheme {
		return nil, nil, usagef("--key %s: a %s key takes --config FILE --key-uri URI", u, u.Scheme)
	}
	if strings.HasPrefix(s, softkms.Scheme+":") {
		u, err := kms.ParseURI(s)
		if err != nil {
			return nil, nil, usagef("--key: %v", err)
		}
		uri = u
	} else {
		abs, err := filepath.Abs(s)
		if err != nil {
			return nil, nil, usagef("--key: %v", err)
		}
		uri = kms.NewURI(softkms.Scheme, map[string]string{"path": abs})
	}
	reg, err := kms.NewRegistry(softkms.New(softkms.Options{PassphraseEnv: "SIGNER_KEY_PASSPHRASE"}))
	if err != nil {
		return nil, nil, err
	}
	signer, err := reg.LoadSigner(cmd.Context(), uri)
	if err != nil {
		reg.Close()
		return nil, nil, withCode(exitError, fmt.Errorf("--key: %w", err))
	}
	return signer, func() { signer.Close(); reg.Close() }, nil
}

// serverCAs returns the roots and intermediates of the server's trust bundle.
func serverCAs(cmd *cobra.Command, c *client) (roots, inters []*x509.Certificate, err error) {
	resp, err := unary(cmd.Context(), c, "get trust bundle", func(ctx context.Context, conn *grpc.ClientConn) (*signerv1.GetTrustBundleResponse, error) {
		return signerv1.NewSignerServiceClient(conn).GetTrustBundle(ctx, &signerv1.GetTrustBundleRequest{})
	})
	if err != nil {
		return nil, nil, err
	}
	for _, tc := range resp.GetCertificates() {
		c, err := chain.ParseCertificatePEM([]byte(tc.GetPem()))
		if err != nil {
			return nil, nil, fmt.Errorf("trust bundle %s: %w", tc.GetFileName(), err)
		}
		if tc.GetRole() == chain.RoleRoot {
			roots = append(roots, c)
		} else {
			inters = append(inters, c)
		}
	}
	return roots, inters, nil
}

func readOneCertificate(path string) (*x509.Certificate, error) {
	cs, err := readPEMCertificates(path)
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 {
		return nil, usagef("%s: want one certificate, found %d", path, len(cs))
	}
	return cs[0], nil
}

// colonHex prints a hex fingerprint as OpenSSL does (AA:BB:…).
func colonHex(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(h[i : i+2]))
	}
	return b.String()
}
