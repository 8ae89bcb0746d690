package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/chain"
)

// maxSignatureFile bounds what verify reads as a signature file.
const maxSignatureFile = 64 << 10

func newVerifyCommand() *cobra.Command {
	var truststore, sigPath, output string
	cmd := &cobra.Command{
		Use:   "verify --truststore DIR --signature FILE ARCHIVE",
		Short: "Verify an archive's signature file offline against a trust store",
		Long: `Verify ARCHIVE the way an installing instance does, with no network: the
signature file's certificate must chain (PKIX) to a root CA in the trust-store
folder, be valid now and be a code-signing certificate, and the signature must
be a pure Ed25519 signature over every byte of ARCHIVE. A signature file
without a certificate is checked against the certificates in the trust store.

Exit status 0 means valid; 3 bad signature, 4 untrusted, 5 expired, 6 malformed.`,
		Args: exactArgs(1, "one ARCHIVE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if truststore == "" {
				return usagef("--truststore DIR is required")
			}
			if sigPath == "" {
				sigPath = args[0] + ".sig"
			}
			if output != "text" && output != "json" {
				return usagef("--output %q: use text or json", output)
			}
			res, err := verifyArchive(cmd, truststore, sigPath, args[0])
			if output == "json" {
				return printVerifyJSON(cmd.OutOrStdout(), args[0], res, err)
			}
			if err != nil {
				return err
			}
			src := "certificate in signature file"
			if res.FromTrustStore {
				src = "certificate from trust store"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OK %s: signed by %q (serial %s, %s, valid until %s), sha256 %s\n",
				args[0], res.Subject, res.Serial, src, res.NotAfter.Format("2006-01-02"), res.SHA256)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&truststore, "truststore", "", "trust-store folder of PEM CA certificates (required)")
	f.StringVar(&sigPath, "signature", "", "signature file (default ARCHIVE.sig)")
	f.StringVar(&output, "output", "text", "text or json")
	return cmd
}

func verifyArchive(cmd *cobra.Command, truststore, sigPath, archive string) (*chain.Result, error) {
	ts, err := chain.LoadTrustStore(truststore)
	if err != nil {
		return nil, verifyFailure(err)
	}
	sf, err := readSignatureFile(sigPath)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(archive)
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("open archive: %w", err))
	}
	defer f.Close()
	res, err := ts.Verify(cmd.Context(), sf, f, time.Now())
	if err != nil {
		return nil, verifyFailure(err)
	}
	return res, nil
}

func readSignatureFile(path string) (chain.SignatureFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return chain.SignatureFile{}, withCode(exitError, fmt.Errorf("open signature file: %w", err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSignatureFile+1))
	if err != nil {
		return chain.SignatureFile{}, withCode(exitError, fmt.Errorf("read signature file: %w", err))
	}
	sf, err := chain.ParseSignatureFile(b)
	if err != nil {
		return chain.SignatureFile{}, verifyFailure(fmt.Errorf("signature file %s: %w", path, err))
	}
	return sf, nil
}

// verifyFailure gives a verification error its exit status.
func verifyFailure(err error) error {
	switch {
	case errors.Is(err, chain.ErrBadSignature):
		return withCode(exitBadSig, err)
	case errors.Is(err, chain.ErrExpired):
		return withCode(exitExpired, err)
	case errors.Is(err, chain.ErrUntrusted), errors.Is(err, chain.ErrInvalidKey):
		return withCode(exitUntrusted, err)
	case errors.Is(err, chain.ErrMalformed):
		return withCode(exitMalformed, err)
	}
	return err
}

type verifyJSON struct {
	Archive        string    `json:"archive"`
	Valid          bool      `json:"valid"`
	Error          string    `json:"error,omitempty"`
	Subject        string    `json:"subject,omitempty"`
	Issuers        []string  `json:"issuers,omitempty"`
	Serial         string    `json:"serial,omitempty"`
	NotAfter       time.Time `json:"not_after,omitzero"`
	SHA256         string    `json:"sha256,omitempty"`
	KeyFingerprint string    `json:"key_fingerprint,omitempty"`
	FromTrustStore bool      `json:"from_trust_store,omitempty"`
}

func printVerifyJSON(w io.Writer, archive string, res *chain.Result, err error) error {
	out := verifyJSON{Archive: archive, Valid: err == nil}
	if err != nil {
		out.Error = err.Error()
	} else {
		out.Subject, out.Issuers, out.Serial, out.NotAfter = res.Subject, res.Issuers, res.Serial, res.NotAfter
		out.SHA256, out.KeyFingerprint, out.FromTrustStore = res.SHA256, res.KeyFingerprint, res.FromTrustStore
	}
	enc := json.NewEncoder(w)
	if jerr := enc.Encode(out); jerr != nil {
		return jerr
	}
	return err
}
