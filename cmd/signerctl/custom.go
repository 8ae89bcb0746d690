package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms/softkms"
)

// Files `signerctl custom init` writes.
const (
	customKeyFile  = "app-signing.key"
	customCertFile = "app-signing.crt"
)

func newCustomCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "custom",
		Short: "Sign your own custom apps with your own key (no marketplace involved)",
	}
	cmd.AddCommand(newCustomInitCommand())
	return cmd
}

func newCustomInitCommand() *cobra.Command {
	var out, name string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "init --out DIR [--name NAME] [--validity DURATION]",
		Short: "Create a custom-app signing key and its self-signed certificate",
		Long: `Create DIR/app-signing.key (a new Ed25519 key, PKCS#8 PEM, mode 0600) and
DIR/app-signing.crt (a self-signed Ed25519 code-signing certificate for it,
not a CA). The key never leaves DIR.

Then: copy app-signing.crt into each instance's trust-store folder (it is
trusted directly, like a root), and sign with
  signerctl sign --key DIR/app-signing.key --cert DIR/app-signing.crt app.jar
The signature file carries no certificate; verifiers find it in their trust
store. Existing files are never overwritten.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if validity <= 0 {
				return usagef("--validity must be positive")
			}
			return runCustomInit(cmd, out, name, validity)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory to create the key and certificate in")
	requireFlags(cmd, "out")
	f.StringVar(&name, "name", "custom app signing", "certificate subject common name, e.g. your organisation")
	f.DurationVar(&validity, "validity", 2*365*24*time.Hour, "certificate lifetime")
	return cmd
}

func runCustomInit(cmd *cobra.Command, dir, name string, validity time.Duration) error {
	keyPath, certPath := filepath.Join(dir, customKeyFile), filepath.Join(dir, customCertFile)
	for _, p := range []string{keyPath, certPath} {
		if _, err := os.Lstat(p); err == nil {
			return withCode(exitError, fmt.Errorf("%s already exists: refusing to replace a signing key or certificate", p))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	defer clear(priv)
	cert, err := chain.NewCustomSigningCertificate(rand.Reader, priv, name, time.Now(), validity)
	if err != nil {
		return err
	}
	if err := softkms.WriteKeyFile(keyPath, priv); err != nil {
		return err
	}
	if err := os.WriteFile(certPath, chain.CertificatePEM(cert), 0o644); err != nil {
		os.Remove(keyPath)
		return err
	}
	fp, _ := chain.KeyFingerprint(pub)
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote %s (private key, 0600) and %s\n", keyPath, certPath)
	fmt.Fprintf(w, "certificate %q valid until %s, key fingerprint %s\n", cert.Subject.String(), cert.NotAfter.Format("2006-01-02"), fp)
	fmt.Fprintf(w, "next: install %s into each instance's trust store, then\n  signerctl sign --key %s --cert %s app.jar\n", certPath, keyPath, certPath)
	return nil
}
