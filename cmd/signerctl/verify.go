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
	"github.com/appsign/signer/internal/statement"
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

Both signature profiles are accepted: the UPM file ({"signature","certificate"},
pure Ed25519 over the archive) and the digest-v1 file (a signed statement of the
archive's size, SHA-256 and SHA-512; see docs/digest-profile.md).

Exit status 0 means valid; 3 bad signature or archive not matching the
statement, 4 untrusted, 5 expired, 6 malformed.`,
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
			fmt.Fprintf(cmd.OutOrStdout(), "OK %s: %s signature by %q (serial %s, %s, valid until %s), sha256 %s\n",
				args[0], res.Profile, res.Subject, res.Serial, src, res.NotAfter.Format("2006-01-02"), res.SHA256)
			if st := res.Statement; st != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "   statement: %s %s (%s), %d bytes, key %s v%d, signed at %s\n",
					st.AppKey, st.Version, st.Track, st.ArchiveSize, st.KeyID, st.KeyVersion, st.SignedAt.Format(time.RFC3339))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&truststore, "truststore", "", "trust-store folder of PEM CA certificates (required)")
	f.StringVar(&sigPath, "signature", "", "signature file (default ARCHIVE.sig)")
	f.StringVar(&output, "output", "text", "text or json")
	return cmd
}

// verified is what a successful verification reports, for either profile.
type verified struct {
	*chain.Result
	Profile   string
	Statement *statement.Statement
}

func verifyArchive(cmd *cobra.Command, truststore, sigPath, archive string) (*verified, error) {
	ts, err := chain.LoadTrustStore(truststore)
	if err != nil {
		return nil, verifyFailure(err)
	}
	raw, err := readSignatureFile(sigPath)
	if err != nil {
		return nil, err
	}
	profile, err := statement.DetectProfile(raw)
	if err != nil {
		return nil, verifyFailure(fmt.Errorf("signature file %s: %w", sigPath, err))
	}
	f, err := os.Open(archive)
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("open archive: %w", err))
	}
	defer f.Close()
	if profile == statement.ProfileDigestV1 {
		df, err := statement.ParseFile(raw)
		if err != nil {
			return nil, verifyFailure(fmt.Errorf("signature file %s: %w", sigPath, err))
		}
		res, err := statement.Verify(cmd.Context(), ts, df, f, time.Now())
		if err != nil {
			return nil, verifyFailure(err)
		}
		st := res.Statement
		return &verified{Result: &res.Result, Profile: profile, Statement: &st}, nil
	}
	sf, err := chain.ParseSignatureFile(raw)
	if err != nil {
		return nil, verifyFailure(fmt.Errorf("signature file %s: %w", sigPath, err))
	}
	res, err := ts.Verify(cmd.Context(), sf, f, time.Now())
	if err != nil {
		return nil, verifyFailure(err)
	}
	return &verified{Result: res, Profile: profile}, nil
}

func readSignatureFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("open signature file: %w", err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSignatureFile+1))
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("read signature file: %w", err))
	}
	if len(b) > maxSignatureFile {
		return nil, withCode(exitMalformed, fmt.Errorf("signature file %s is larger than %d bytes", path, maxSignatureFile))
	}
	return b, nil
}

// verifyFailure gives a verification error its exit status.
func verifyFailure(err error) error {
	switch {
	case errors.Is(err, chain.ErrBadSignature), errors.Is(err, statement.ErrDigestMismatch):
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
	Profile        string    `json:"profile,omitempty"`
	AppKey         string    `json:"app_key,omitempty"`
	Version        string    `json:"version,omitempty"`
	Error          string    `json:"error,omitempty"`
	Subject        string    `json:"subject,omitempty"`
	Issuers        []string  `json:"issuers,omitempty"`
	Serial         string    `json:"serial,omitempty"`
	NotAfter       time.Time `json:"not_after,omitzero"`
	SHA256         string    `json:"sha256,omitempty"`
	KeyFingerprint string    `json:"key_fingerprint,omitempty"`
	FromTrustStore bool      `json:"from_trust_store,omitempty"`
}

func printVerifyJSON(w io.Writer, archive string, res *verified, err error) error {
	out := verifyJSON{Archive: archive, Valid: err == nil}
	if err != nil {
		out.Error = err.Error()
	} else {
		out.Subject, out.Issuers, out.Serial, out.NotAfter = res.Subject, res.Issuers, res.Serial, res.NotAfter
		out.SHA256, out.KeyFingerprint, out.FromTrustStore = res.SHA256, res.KeyFingerprint, res.FromTrustStore
		out.Profile = res.Profile
		if res.Statement != nil {
			out.AppKey, out.Version = res.Statement.AppKey, res.Statement.Version
		}
	}
	enc := json.NewEncoder(w)
	if jerr := enc.Encode(out); jerr != nil {
		return jerr
	}
	return err
}
