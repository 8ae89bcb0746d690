package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
)

// bundleTrustFlags are the trust anchors of bundle verify, diff and install.
type bundleTrustFlags struct {
	truststore, bootstrap string
}

func (f *bundleTrustFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.truststore, "truststore", "", "trust-store folder whose roots the bundle signer must chain to")
	cmd.Flags().StringVar(&f.bootstrap, "bootstrap-fingerprint", "", "first install: SHA-256 fingerprint of the bundle's root, obtained out of band")
}

// trust returns the anchors for bundle.Verify; a missing trust store is
// empty (first install), not an error.
func (f *bundleTrustFlags) trust() (bundle.Trust, error) {
	t := bundle.Trust{BootstrapFingerprint: f.bootstrap}
	if f.truststore != "" {
		ts, err := chain.LoadTrustStore(f.truststore)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return t, withCode(exitMalformed, err)
		default:
			t.Roots, t.Intermediates = ts.Roots(), ts.Intermediates()
		}
	}
	if len(t.Roots) == 0 && t.BootstrapFingerprint == "" {
		return t, usagef("no trusted root: pass --truststore DIR holding the roots, or --bootstrap-fingerprint FP on a first install")
	}
	return t, nil
}

func newBundleVerifyCommand() *cobra.Command {
	var tf bundleTrustFlags
	var output string
	cmd := &cobra.Command{
		Use:   "verify (--truststore DIR | --bootstrap-fingerprint FP) [--output text|json] BUNDLE",
		Short: "Verify a trust bundle directory offline",
		Long: `Check a bundle directory with no network: the manifest signature, that its
signer chains to a root already trusted (or, on a first install, to the
bundle root whose fingerprint you obtained out of band), the exact file set,
every file's SHA-256 and SHA-512, and every file's contents. Warnings name
certificates expiring within 30 days and stale revocation data.

Exit status: 0 valid; 3 bad signature or digest; 4 untrusted signer; 5 a
certificate outside its validity; 6 malformed, missing or unexpected file.`,
		Args: exactArgs(1, "one BUNDLE directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			trust, err := tf.trust()
			if err != nil {
				return err
			}
			v, err := bundle.Verify(args[0], trust, time.Now())
			if err != nil {
				return bundleFailure(err)
			}
			if output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
					Valid    bool             `json:"valid"`
					Manifest *bundle.Manifest `json:"manifest"`
					Signer   string           `json:"signer"`
					Warnings []string         `json:"warnings"`
				}{true, v.Manifest, v.Signer.Subject.String(), v.Warnings})
			}
			w := cmd.OutOrStdout()
			m := v.Manifest
			fmt.Fprintf(w, "OK bundle version %d, issued %s, valid until %s, signed by %q\n", m.BundleVersion,
				m.IssuedAt.Format(time.RFC3339), m.ValidUntil.Format(time.RFC3339), v.Signer.Subject.String())
			for _, f := range m.Files {
				fmt.Fprintf(w, "  %-34s %-16s %s\n", f.Name, f.Role, f.Subject)
			}
			printWarnings(cmd, v.Warnings)
			return nil
		},
	}
	tf.add(cmd)
	addOutputFlag(cmd, &output, "text", "json")
	return cmd
}

func newBundleDiffCommand() *cobra.Command {
	var tf bundleTrustFlags
	cmd := &cobra.Command{
		Use:   "diff --truststore DIR [--bootstrap-fingerprint FP] BUNDLE",
		Short: "Show what installing a bundle would change in a trust store (changes nothing)",
		Long: `Verify BUNDLE as install does and print the plan: "+" files added, "-" files
removed (and why), "=" files already in place, then warnings. Nothing is
written. Exit statuses as for bundle verify; 1 for a refused downgrade or a
conflicting file in the trust store.`,
		Args: exactArgs(1, "one BUNDLE directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := bundle.Diff(args[0], tf.truststore, time.Now(), bundle.InstallOptions{BootstrapFingerprint: tf.bootstrap})
			if err != nil {
				return bundleFailure(err)
			}
			fmt.Fprint(cmd.OutOrStdout(), plan.String())
			return nil
		},
	}
	tf.add(cmd)
	requireFlags(cmd, "truststore")
	return cmd
}

func newBundleInstallCommand() *cobra.Command {
	var tf bundleTrustFlags
	cmd := &cobra.Command{
		Use:   "install --truststore DIR [--bootstrap-fingerprint FP] BUNDLE",
		Short: "Verify a bundle and install it into a trust-store folder",
		Long: `Verify BUNDLE against the roots already in DIR (or the bootstrap fingerprint
on a first install) and install it: add its CA certificates (0444), remove
expired ones and CAs an earlier bundle installed that this one withdraws, put
the revocation list and CRLs under DIR/.revocation, and leave the folders
0555. A bundle older than the installed one is refused; the same version
changes nothing. Run it as the account that owns DIR, never as the product's
user. Prints the plan it carried out.`,
		Args: exactArgs(1, "one BUNDLE directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := bundle.Install(cmd.Context(), args[0], tf.truststore, time.Now(), bundle.InstallOptions{BootstrapFingerprint: tf.bootstrap})
			if err != nil {
				return bundleFailure(err)
			}
			fmt.Fprint(cmd.OutOrStdout(), plan.String())
			if !plan.UpToDate {
				fmt.Fprintf(cmd.OutOrStdout(), "installed bundle version %d into %s\n", plan.BundleVersion, tf.truststore)
			}
			return nil
		},
	}
	tf.add(cmd)
	requireFlags(cmd, "truststore")
	return cmd
}

// bundleFailure gives a bundle error its exit status.
func bundleFailure(err error) error {
	switch {
	case errors.Is(err, bundle.ErrBadSignature), errors.Is(err, bundle.ErrDigestMismatch):
		return withCode(exitBadSig, err)
	case errors.Is(err, bundle.ErrUntrusted):
		return withCode(exitUntrusted, err)
	case errors.Is(err, bundle.ErrExpired):
		return withCode(exitExpired, err)
	case errors.Is(err, bundle.ErrMalformed), errors.Is(err, bundle.ErrMissingFile), errors.Is(err, bundle.ErrUnexpectedFile):
		return withCode(exitMalformed, err)
	}
	return err
}

func printWarnings(cmd *cobra.Command, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
	}
}
