package main

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocation"
)

// maxOfflineCRLNextUpdate bounds --next-update: twelve months, the longest
// the CA/Browser Forum baseline requirements allow a CRL that covers CA
// certificates; an offline root holds a ceremony at least yearly.
const maxOfflineCRLNextUpdate = 366 * 24 * time.Hour

type caCRLOptions struct {
	config, caCert, caKey, revokedFile, out, output string
	revoked, forms                                  []string
	number                                          int64
	nextUpdate                                      time.Duration
	force                                           bool
}

func newCACRLCommand() *cobra.Command {
	var o caCRLOptions
	cmd := &cobra.Command{
		Use:   "crl --config FILE --ca-cert FILE --ca-key URI [--revoked SERIAL[,SERIAL…] | --revoked-file FILE] --number N --next-update D --out FILE [--form der|pem|der,pem] [--force]",
		Short: "Issue an X.509 CRL offline, signed by a CA key in any backend (the offline root's CRL)",
		Long: `Issue an RFC 5280 v2 CRL for --ca-cert, signed by its key --ca-key in a
backend of --config, without a server: the offline root's CRL, revoking the
intermediates and trust-metadata signers it issued.

Revoked certificates are given by serial in hex, as 'signerctl ca show'
prints it (OpenSSL's form with colons works too): --revoked lists them
(comma-separated or repeated), revoked now, reason unspecified; or
--revoked-file names a file with one per line:

  SERIAL [TIME] [REASON]      e.g.  3f9a…c2  2026-03-01T09:30:00Z  ca-compromise

TIME is RFC 3339 (default: now), REASON one of unspecified, key-compromise,
ca-compromise, affiliation-changed, superseded, cessation-of-operation;
blank lines and lines starting with # are skipped. No serial at all issues
an empty CRL, the routine renewal.

--number must grow with every CRL of the CA (installs keep the highest);
keep it with the ceremony records. The CRL is valid from now until now +
--next-update (at most 8784h, twelve months): issue the next one before.
--form der (default) writes DER to --out, pem writes PEM, der,pem writes DER
to --out and PEM to --out.pem, from one signature. The command checks that
--ca-cert is a CA allowed to sign CRLs and that --ca-key is its key before
the key signs, and refuses to replace an existing file without --force.
Check the result with
  openssl crl -inform DER -in FILE -CAfile CA.pem -noout`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCACRL(cmd, o)
		},
	}
	f := cmd.Flags()
	configFlag(cmd, &o.config, "")
	f.StringVar(&o.caCert, "ca-cert", "", "certificate of the issuing CA, PEM")
	f.StringVar(&o.caKey, "ca-key", "", "URI of the issuing CA's key, e.g. pkcs11:token=T;object=O")
	f.StringSliceVar(&o.revoked, "revoked", nil, "hex serials of revoked certificates, comma-separated or repeated")
	f.StringVar(&o.revokedFile, "revoked-file", "", "file with one 'SERIAL [TIME] [REASON]' per line")
	f.Int64Var(&o.number, "number", 0, "CRL number, greater than the CA's last one (required)")
	f.DurationVar(&o.nextUpdate, "next-update", 0, "how long the CRL stays fresh, e.g. 4380h (required, at most 8784h)")
	f.StringVar(&o.out, "out", "", "CRL file to write")
	requireFlags(cmd, "config", "ca-cert", "ca-key", "out")
	f.StringSliceVar(&o.forms, "form", []string{"der"}, "der, pem or der,pem (PEM then goes to --out.pem)")
	completeValues(cmd, "form", "der", "pem", "der,pem")
	f.BoolVar(&o.force, "force", false, "replace existing output files")
	addOutputFlag(cmd, &o.output, "text", "json")
	return cmd
}

// check validates the flags before any file is read or key touched.
func (o *caCRLOptions) check() error {
	switch {
	case o.number <= 0:
		return usagef("--number %d: the CRL number must be positive and greater than the CA's last one", o.number)
	case o.nextUpdate <= 0:
		return usagef("--next-update %s: give how long the CRL stays fresh, e.g. 4380h", o.nextUpdate)
	case o.nextUpdate > maxOfflineCRLNextUpdate:
		return usagef("--next-update %s is longer than %s (twelve months): issue CRLs at least yearly", o.nextUpdate, maxOfflineCRLNextUpdate)
	case len(o.revoked) > 0 && o.revokedFile != "":
		return usagef("give --revoked or --revoked-file, not both")
	}
	if _, err := kms.ParseURI(o.caKey); err != nil {
		return usagef("--ca-key: %v", err)
	}
	if _, _, err := o.outFiles(); err != nil {
		return err
	}
	return nil
}

// outFiles returns where the DER and the PEM CRL go ("" for none).
func (o *caCRLOptions) outFiles() (derPath, pemPath string, err error) {
	for _, f := range o.forms {
		switch strings.ToLower(strings.TrimSpace(f)) {
		case "der":
			derPath = o.out
		case "pem":
			pemPath = o.out
		default:
			return "", "", usagef("--form %q: use der, pem or der,pem", f)
		}
	}
	if derPath != "" && pemPath != "" {
		pemPath = o.out + ".pem"
	}
	if derPath == "" && pemPath == "" {
		return "", "", usagef("--form: use der, pem or der,pem")
	}
	return derPath, pemPath, nil
}

func runCACRL(cmd *cobra.Command, o caCRLOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	derPath, pemPath, _ := o.outFiles()
	for _, p := range []string{derPath, pemPath} {
		if p == "" {
			continue
		}
		if err := checkOutFile(p, "a CRL", o.force); err != nil {
			return err
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	entries, err := o.entries(now)
	if err != nil {
		return err
	}
	caCert, err := readOneCertificate(o.caCert)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("--ca-cert %s (%s)", o.caCert, caCert.Subject)
	if err := checkIssuerCert(caCert, name, x509.KeyUsageCRLSign, "sign CRLs (key usage cRLSign)", now); err != nil {
		return err
	}

	key, closeKey, err := openBackendKey(cmd, o.config, "--ca-key", o.caKey)
	if err != nil {
		return err
	}
	defer closeKey()
	if err := checkIssuerKey(caCert, name, "--ca-key", o.caKey, key.Public()); err != nil {
		return err
	}
	der, err := revocation.BuildCRL(cmd.Context(), caCert, key, big.NewInt(o.number), entries, now, now.Add(o.nextUpdate))
	if err != nil {
		return withCode(exitError, err)
	}

	var outs []outFile
	if derPath != "" {
		outs = append(outs, outFile{derPath, der})
	}
	if pemPath != "" {
		outs = append(outs, outFile{pemPath, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})})
	}
	if err := writeOutFiles(outs, o.force); err != nil {
		return withCode(exitError, err)
	}
	return printCRL(cmd, o, caCert, outs, entries, now)
}

// entries parses --revoked or --revoked-file; revocations without a time
// date from now.
func (o *caCRLOptions) entries(now time.Time) ([]revocation.CRLEntry, error) {
	if o.revokedFile == "" {
		var out []revocation.CRLEntry
		seen := map[string]string{}
		for _, s := range o.revoked {
			n, err := parseSerial(s)
			if err != nil {
				return nil, usagef("--revoked %q: %v", s, err)
			}
			if prev, dup := seen[n.String()]; dup {
				return nil, usagef("--revoked: serial %x given twice (%q and %q)", n, prev, s)
			}
			seen[n.String()] = s
			out = append(out, revocation.CRLEntry{Serial: n, RevokedAt: now, Reason: revocation.ReasonUnspecified})
		}
		return out, nil
	}
	data, err := os.ReadFile(o.revokedFile)
	if err != nil {
		return nil, withCode(exitError, fmt.Errorf("--revoked-file: %w", err))
	}
	out, err := parseRevokedFile(data, now)
	if err != nil {
		return nil, usagef("--revoked-file %s %v", o.revokedFile, err)
	}
	return out, nil
}

// parseRevokedFile parses lines of "SERIAL [TIME] [REASON]"; errors name
// the line.
func parseRevokedFile(data []byte, now time.Time) ([]revocation.CRLEntry, error) {
	var out []revocation.CRLEntry
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		e, err := parseRevokedLine(fields, now)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if prev, dup := seen[e.Serial.String()]; dup {
			return nil, fmt.Errorf("line %d: serial %x is already on line %d", line, e.Serial, prev)
		}
		seen[e.Serial.String()] = line
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseRevokedLine(fields []string, now time.Time) (revocation.CRLEntry, error) {
	n, err := parseSerial(fields[0])
	if err != nil {
		return revocation.CRLEntry{}, fmt.Errorf("serial %q: %w", fields[0], err)
	}
	e := revocation.CRLEntry{Serial: n}
	for _, f := range fields[1:] {
		if t, err := time.Parse(time.RFC3339, f); err == nil {
			if !e.RevokedAt.IsZero() {
				return e, fmt.Errorf("two revocation times for serial %x", n)
			}
			if t.After(now) {
				return e, fmt.Errorf("revocation time %s of serial %x is in the future", f, n)
			}
			e.RevokedAt = t
			continue
		}
		r, err := parseCRLReason(f)
		if err != nil {
			return e, err
		}
		if e.Reason != "" {
			return e, fmt.Errorf("two reasons for serial %x", n)
		}
		e.Reason = r
	}
	if e.RevokedAt.IsZero() {
		e.RevokedAt = now
	}
	if e.Reason == "" {
		e.Reason = revocation.ReasonUnspecified
	}
	return e, nil
}

// parseCRLReason accepts the revocation reasons X.509 has a code for.
func parseCRLReason(s string) (revocation.Reason, error) {
	var crlReasons []string
	for _, r := range revocation.Reasons() {
		if r == revocation.ReasonUnspecified || r.CRLCode() != 0 {
			crlReasons = append(crlReasons, string(r))
		}
	}
	if !slices.Contains(crlReasons, s) {
		return "", fmt.Errorf("%q is neither an RFC 3339 time nor a CRL reason (%s)", s, strings.Join(crlReasons, ", "))
	}
	return revocation.Reason(s), nil
}

// parseSerial parses a certificate serial in hex, as `ca show` and
// `openssl x509 -serial` print it (without "serial="), colons between
// bytes allowed.
func parseSerial(s string) (*big.Int, error) {
	return revocation.ParseSerial(strings.ReplaceAll(s, ":", ""))
}

// outFile is one file a command writes.
type outFile struct {
	path string
	data []byte
}

// writeOutFiles writes files with writeOutFile; if one fails, the files it
// created before are removed again, so a failed run leaves no new file.
func writeOutFiles(files []outFile, replace bool) error {
	var created []string
	for _, f := range files {
		_, statErr := os.Lstat(f.path)
		if err := writeOutFile(f.path, f.data, replace); err != nil {
			for _, p := range created {
				_ = os.Remove(p)
			}
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		if errors.Is(statErr, fs.ErrNotExist) {
			created = append(created, f.path)
		}
	}
	return nil
}

// crlEntryInfo is how `ca crl` prints one revoked certificate.
type crlEntryInfo struct {
	Serial    string    `json:"serial"`
	RevokedAt time.Time `json:"revoked_at"`
	Reason    string    `json:"reason"`
}

func printCRL(cmd *cobra.Command, o caCRLOptions, ca *x509.Certificate, outs []outFile, entries []revocation.CRLEntry, now time.Time) error {
	var wrote []string
	for _, f := range outs {
		wrote = append(wrote, f.path)
	}
	revoked := []crlEntryInfo{}
	for _, e := range entries {
		revoked = append(revoked, crlEntryInfo{e.Serial.Text(16), e.RevokedAt.UTC(), string(e.Reason)})
	}
	if o.output == "json" {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
			Wrote      []string       `json:"wrote"`
			Issuer     string         `json:"issuer"`
			Number     int64          `json:"number"`
			ThisUpdate time.Time      `json:"this_update"`
			NextUpdate time.Time      `json:"next_update"`
			Revoked    []crlEntryInfo `json:"revoked"`
		}{wrote, ca.Subject.String(), o.number, now, now.Add(o.nextUpdate), revoked})
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote %s\n", strings.Join(wrote, ", "))
	fmt.Fprintf(w, "CRL number %d of %q, this update %s, next update %s, %d revoked\n",
		o.number, ca.Subject.String(), now.Format(time.RFC3339), now.Add(o.nextUpdate).Format(time.RFC3339), len(revoked))
	for _, r := range revoked {
		fmt.Fprintf(w, "  serial %s revoked %s (%s)\n", r.Serial, r.RevokedAt.Format(time.RFC3339), r.Reason)
	}
	return nil
}
