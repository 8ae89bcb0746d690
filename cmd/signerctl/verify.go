package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/statement"
	"github.com/appsign/signer/internal/verifypolicy"
)

// maxSignatureFile bounds what verify reads as a signature file.
const maxSignatureFile = 64 << 10

// verifyOptions are the flags of verify.
type verifyOptions struct {
	truststore, sigPath, output, appKey, policy, stale, revocationList, graceUntil string
	conn                                                                           client
	ledgerEntry                                                                    int64
	requireRevocation                                                              bool
	bulk                                                                           bulkOptions
}

func newVerifyCommand() *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify --truststore DIR [--signature FILE] [--app-key KEY] [--policy SPEC] ARCHIVE",
		Short: "Verify an archive's signature file offline against a trust store",
		Long: `Verify ARCHIVE the way an installing instance does, with no network: the
signature file's certificate must chain (PKIX) to a root CA in the trust-store
folder, be valid now and be a code-signing certificate, and the signature must
be a pure Ed25519 signature over every byte of ARCHIVE. A signature file
without a certificate is checked against the certificates in the trust store.

Both signature profiles are accepted: the UPM file ({"signature","certificate"},
pure Ed25519 over the archive) and the digest-v1 file (a signed statement of the
archive's size, SHA-256 and SHA-512; see docs/digest-profile.md).

The origin comes only from the trust store, never from the file: marketplace
(the certificate chained through a CA without the private-build policy),
private-build (through the private-build CA), custom (the signature verified
under a certificate of the trust store itself). A file that does not verify
has origin unknown. Then:
  - a private-build certificate must be scoped to --app-key (the app being
    installed): one of its URI SANs is urn:appsign:app-key:KEY;
  - the revocation list installed in the trust store (DIR/.revocation, from
    bundle install), or a newer --revocation-list FILE (an older one is a
    rollback and refused), must not revoke the archive, the certificates on
    its path or their keys. Key and certificate revocations apply from their
    effective time: the signing time comes from the ledger with --server and
    --ledger-entry, from the statement for digest-v1 (not trusted after a key
    compromise), else it is unknown and the signature counts as revoked.
    A stale list warns (--stale warn) or fails (--stale fail). No list at all
    is a warning, and an error (exit 8) with --require-revocation.
--policy sets the mode per origin: enforce (failures fail), warn (failures are
reported as warnings, exit 0) or off (not enforced), e.g.
--policy marketplace=enforce,private-build=warn,custom=off. The mode of a
failure after the chain verified is that of the chain's origin; a missing or
unverifiable signature file (origin unknown) fails under every policy except
unsigned=warn or unsigned=off (the grace period for unsigned apps).
--grace-until TIME accepts an archive without signature file, with a warning,
until TIME.
Certificates expiring within 30 days are reported as warnings.

Exit status 0 means valid (or accepted by policy); 3 bad signature or archive
not matching the statement, 4 untrusted (or outside the certificate's app-key
scope), 5 expired, 6 malformed, 8 revoked (or revocation data refused: stale
under --stale fail, rollback). --output json prints one object with the cause.`,
		Args: verifyArgs(&o),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.bulk.enabled() {
				return runBulkVerify(cmd, o)
			}
			if o.sigPath == "" {
				o.sigPath = args[0] + ".sig"
			}
			if o.ledgerEntry != 0 && o.conn.address() == "" {
				return usagef("--ledger-entry needs --server")
			}
			pol, grace, err := o.decisionFlags()
			if err != nil {
				return err
			}
			rep := runVerify(cmd, o, pol, grace, args[0])
			if o.output == "json" {
				return printVerifyJSON(cmd.OutOrStdout(), args[0], rep)
			}
			printVerifyText(cmd, args[0], rep)
			return rep.result()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.truststore, "truststore", "", "trust-store folder of PEM CA certificates")
	requireFlags(cmd, "truststore")
	f.StringVar(&o.sigPath, "signature", "", "signature file (default ARCHIVE.sig)")
	addOutputFlag(cmd, &o.output, "text", "json")
	f.StringVar(&o.appKey, "app-key", "", "app key of the archive being installed (private builds are scoped to app keys)")
	f.StringVar(&o.policy, "policy", "", "mode per origin: ORIGIN=enforce|warn|off,… (marketplace, private-build, custom, unsigned; default enforce)")
	f.BoolVar(&o.requireRevocation, "require-revocation", false, "fail (exit 8) when no revocation list is installed instead of warning")
	f.StringVar(&o.stale, "stale", "warn", "a stale revocation list: warn or fail")
	completeValues(cmd, "stale", "warn", "fail")
	f.StringVar(&o.revocationList, "revocation-list", "", "a signed revocation list newer than the trust store's")
	f.StringVar(&o.graceUntil, "grace-until", "", "accept an archive without signature file, with a warning, until this RFC 3339 time")
	f.Int64Var(&o.ledgerEntry, "ledger-entry", 0, "with --server: the ledger entry of this signature, for a trusted signing time")
	addConnFlags(cmd, &o.conn)
	addBulkFlags(cmd, &o.bulk)
	return cmd
}

// decisionFlags checks the flags single-file and bulk verify decide by
// and returns the parsed --policy and --grace-until (zero if not given).
func (o verifyOptions) decisionFlags() (verifypolicy.Policy, time.Time, error) {
	var grace time.Time
	if o.stale != "warn" && o.stale != "fail" {
		return verifypolicy.Policy{}, grace, usagef("--stale %q: use warn or fail", o.stale)
	}
	pol, err := verifypolicy.Parse(o.policy)
	if err != nil {
		return pol, grace, usagef("--policy: %v", err)
	}
	if o.graceUntil != "" {
		if grace, err = time.Parse(time.RFC3339, o.graceUntil); err != nil {
			return pol, grace, usagef("--grace-until %q: want RFC 3339", o.graceUntil)
		}
	}
	return pol, grace, nil
}

// verified is what a successful verification reports, for either profile.
type verified struct {
	*chain.Result
	Profile   string
	Statement *statement.Statement
	// Signature is the signature the file carries.
	Signature []byte
}

func verifyArchive(cmd *cobra.Command, truststore, sigPath, archive string) (*verified, error) {
	ts, err := chain.LoadTrustStore(truststore)
	if err != nil {
		return nil, verifyFailure(err)
	}
	return verifyWithStore(cmd.Context(), ts, sigPath, archive)
}

// verifyWithStore verifies archive's signature file against a loaded
// trust store (bulk verification loads it once).
func verifyWithStore(ctx context.Context, ts *chain.TrustStore, sigPath, archive string) (*verified, error) {
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
		res, err := statement.Verify(ctx, ts, df, f, time.Now())
		if err != nil {
			return nil, verifyFailure(err)
		}
		st := res.Statement
		return &verified{Result: &res.Result, Profile: profile, Statement: &st, Signature: df.Signature}, nil
	}
	sf, err := chain.ParseSignatureFile(raw)
	if err != nil {
		return nil, verifyFailure(fmt.Errorf("signature file %s: %w", sigPath, err))
	}
	res, err := ts.Verify(ctx, sf, f, time.Now())
	if err != nil {
		return nil, verifyFailure(err)
	}
	return &verified{Result: res, Profile: profile, Signature: sf.Signature}, nil
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
	case errors.Is(err, chain.ErrUntrusted), errors.Is(err, chain.ErrInvalidKey), errors.Is(err, chain.ErrOutOfScope):
		return withCode(exitUntrusted, err)
	case errors.Is(err, chain.ErrMalformed):
		return withCode(exitMalformed, err)
	case errors.Is(err, revocation.ErrRevoked), errors.Is(err, revocation.ErrStale), errors.Is(err, revocation.ErrRollback):
		return withCode(exitRevoked, err)
	case errors.Is(err, revocation.ErrBadSignature), errors.Is(err, revocation.ErrUntrusted), errors.Is(err, revocation.ErrMalformed), errors.Is(err, revocation.ErrExpired):
		// The trust store's revocation data cannot be trusted: fail closed.
		return withCode(exitRevoked, err)
	}
	return err
}

// verifyReport is the outcome of verify: what verified, the first failure
// (nil if none), and whether policy accepts the archive anyway.
type verifyReport struct {
	res      *verified
	origin   string
	mode     string
	err      error
	accepted bool
	note     string
	warnings []string
	revoked  *revocation.RevokedError
}

// result is the command's error: nil when policy accepts the archive.
func (r *verifyReport) result() error {
	if r.accepted {
		return nil
	}
	return r.err
}

func runVerify(cmd *cobra.Command, o verifyOptions, pol verifypolicy.Policy, grace time.Time, archive string) *verifyReport {
	now := time.Now()
	rep := &verifyReport{}
	in := verifypolicy.Input{
		Origin: chain.OriginUnknown, HasSignatureFile: true, Policy: pol,
		RequireRevocation: o.requireRevocation, Now: now, GraceUntil: grace,
	}
	if !noSignatureFile(&in, o.sigPath) {
		rep.res, in.Failure = verifyArchive(cmd, o.truststore, o.sigPath, archive)
		if in.Failure == nil {
			var pv postVerified
			pv, in.Failure = postVerify(cmd, o, rep.res, now)
			in.Origin, in.Revocation, rep.warnings = pv.origin, pv.revocation, pv.warnings
		}
	}
	return rep.decide(in)
}

// noSignatureFile reports whether sigPath does not exist and, if so, marks
// in unsigned: the policy for unsigned archives and the grace period decide.
func noSignatureFile(in *verifypolicy.Input, sigPath string) bool {
	if _, err := os.Stat(sigPath); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	in.HasSignatureFile = false
	in.Failure = withCode(exitMalformed, fmt.Errorf("unsigned: no signature file %s", sigPath))
	return true
}

// decide applies the policy to in and completes the report with the
// decision; single-file and bulk verify share it.
func (rep *verifyReport) decide(in verifypolicy.Input) *verifyReport {
	d := verifypolicy.Decide(in)
	rep.origin, rep.mode, rep.accepted, rep.note = d.Origin, string(d.Mode), d.Accepted, d.Note
	rep.warnings = append(rep.warnings, d.Warnings...)
	rep.err = decisionFailure(d.Failure)
	var re *revocation.RevokedError
	if errors.As(rep.err, &re) {
		rep.revoked = re
	}
	return rep
}

// decisionFailure gives the failures the decision itself adds their exit status.
func decisionFailure(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, verifypolicy.ErrNoRevocationList):
		return withCode(exitRevoked, err)
	case errors.Is(err, verifypolicy.ErrUnknownOrigin):
		return withCode(exitUntrusted, err)
	}
	return err
}

// postVerified is what the checks after a valid signature found.
type postVerified struct {
	origin     string
	revocation verifypolicy.Revocation
	warnings   []string
}

// postVerify runs the checks after a valid signature: the origin from the
// validated chain, the app-key scope it demands, expiry warnings,
// revocation.
func postVerify(cmd *cobra.Command, o verifyOptions, res *verified, now time.Time) (postVerified, error) {
	ts, err := chain.LoadTrustStore(o.truststore)
	if err != nil {
		return postVerified{origin: chain.OriginUnknown, revocation: verifypolicy.RevocationChecked}, verifyFailure(err)
	}
	loadList := func() (*revocationSource, []string, error) {
		return loadRevocationList(o.truststore, o.revocationList, ts, now, o.stale == "fail")
	}
	return checkVerified(cmd.Context(), ts, nil, res, o.appKey, &o.conn, o.ledgerEntry, loadList, now)
}

// checkVerified is postVerify with the trust store loaded and the list
// loaded by loadList (bulk verification loads both once, and caches paths).
func checkVerified(ctx context.Context, ts *chain.TrustStore, paths *pathCache, res *verified, appKey string, conn *client, ledgerEntry int64,
	loadList func() (*revocationSource, []string, error), now time.Time) (postVerified, error) {
	pv := postVerified{origin: chain.OriginUnknown, revocation: verifypolicy.RevocationChecked}
	path, err := paths.get(ts, res, now)
	if err != nil {
		return pv, verifyFailure(err)
	}
	pv.origin = chain.OriginOfChain(path, res.FromTrustStore)
	if err := chain.CheckOriginScope(pv.origin, res.Certificate, appKey); err != nil {
		return pv, verifyFailure(err)
	}
	for _, c := range chain.ExpiresSoon(path, now, chain.RenewWindow) {
		pv.warnings = append(pv.warnings, fmt.Sprintf("certificate %q expires at %s", c.Subject, c.NotAfter.UTC().Format(time.RFC3339)))
	}
	src, ws, err := loadList()
	pv.warnings = append(pv.warnings, ws...)
	if err != nil {
		return pv, verifyFailure(err)
	}
	if src == nil {
		pv.revocation = verifypolicy.RevocationNone
		return pv, nil
	}
	signedAt, source, err := signingTime(ctx, conn, ledgerEntry, res)
	if err != nil {
		return pv, err
	}
	if err := checkRevoked(src, path, res, signedAt, source); err != nil {
		return pv, verifyFailure(err)
	}
	return pv, nil
}

func printVerifyText(cmd *cobra.Command, archive string, rep *verifyReport) {
	w, ew := cmd.OutOrStdout(), cmd.ErrOrStderr()
	for _, warn := range rep.warnings {
		fmt.Fprintf(ew, "warning: %s\n", warn)
	}
	if rep.err != nil {
		if rep.accepted {
			fmt.Fprintf(ew, "warning: %s: %v\n", archive, rep.err)
			fmt.Fprintf(w, "ACCEPTED %s (%s): %s\n", archive, rep.origin, rep.note)
		}
		return
	}
	res := rep.res
	src := "certificate in signature file"
	if res.FromTrustStore {
		src = "certificate from trust store"
	}
	fmt.Fprintf(w, "OK %s: %s %s signature by %q (serial %s, %s, valid until %s), sha256 %s\n",
		archive, rep.origin, res.Profile, res.Subject, res.Serial, src, res.NotAfter.Format("2006-01-02"), res.SHA256)
	if st := res.Statement; st != nil {
		fmt.Fprintf(w, "   statement: %s %s (%s), %d bytes, key %s v%d, signed at %s\n",
			st.AppKey, st.Version, st.Track, st.ArchiveSize, st.KeyID, st.KeyVersion, st.SignedAt.Format(time.RFC3339))
	}
}

type verifyJSON struct {
	Archive        string       `json:"archive"`
	Valid          bool         `json:"valid"`
	Accepted       bool         `json:"accepted"`
	Origin         string       `json:"origin,omitempty"`
	Policy         string       `json:"policy,omitempty"`
	Profile        string       `json:"profile,omitempty"`
	AppKey         string       `json:"app_key,omitempty"`
	Version        string       `json:"version,omitempty"`
	Error          string       `json:"error,omitempty"`
	Cause          string       `json:"cause,omitempty"`
	ExitCode       int          `json:"exit_code"`
	Note           string       `json:"note,omitempty"`
	Warnings       []string     `json:"warnings,omitempty"`
	Revoked        *revokedJSON `json:"revoked,omitempty"`
	Subject        string       `json:"subject,omitempty"`
	Issuers        []string     `json:"issuers,omitempty"`
	Serial         string       `json:"serial,omitempty"`
	NotAfter       time.Time    `json:"not_after,omitzero"`
	SHA256         string       `json:"sha256,omitempty"`
	KeyFingerprint string       `json:"key_fingerprint,omitempty"`
	FromTrustStore bool         `json:"from_trust_store,omitempty"`
}

type revokedJSON struct {
	Kind          string    `json:"kind"`
	Entry         string    `json:"entry"`
	Reason        string    `json:"reason"`
	EffectiveFrom time.Time `json:"effective_from,omitzero"`
	LedgerEntryID int64     `json:"ledger_entry_id,omitempty"`
	Why           string    `json:"why"`
}

// causes name each exit status in JSON output.
var causes = map[int]string{
	exitError: "error", exitUsage: "usage", exitBadSig: "bad-signature", exitUntrusted: "untrusted",
	exitExpired: "expired", exitMalformed: "malformed", exitUnavailable: "unavailable", exitRevoked: "revoked",
}

// printVerifyJSON writes rep as JSON and returns verify's result (or the
// write error).
func printVerifyJSON(w io.Writer, archive string, rep *verifyReport) error {
	if err := writeVerifyJSON(w, archive, rep); err != nil {
		return err
	}
	return rep.result()
}

// writeVerifyJSON writes rep as one JSON line; the error is the write's.
func writeVerifyJSON(w io.Writer, archive string, rep *verifyReport) error {
	out := verifyJSON{Archive: archive, Valid: rep.err == nil, Accepted: rep.err == nil || rep.accepted,
		Origin: rep.origin, Policy: rep.mode, Note: rep.note, Warnings: rep.warnings}
	if rep.err != nil {
		out.Error = rep.err.Error()
		out.ExitCode = exitError
		var ce *codedError
		if errors.As(rep.err, &ce) {
			out.ExitCode = ce.code
		}
		out.Cause = causes[out.ExitCode]
		if errors.Is(rep.err, chain.ErrOutOfScope) {
			out.Cause = "out-of-scope"
		}
		if rep.accepted {
			out.ExitCode = exitOK
		}
	}
	if re := rep.revoked; re != nil {
		out.Revoked = &revokedJSON{Kind: re.Kind, Entry: re.Entry, Reason: string(re.Reason), EffectiveFrom: re.EffectiveFrom, LedgerEntryID: re.LedgerEntryID, Why: re.Why}
	}
	if res := rep.res; res != nil {
		out.Subject, out.Issuers, out.Serial, out.NotAfter = res.Subject, res.Issuers, res.Serial, res.NotAfter
		out.SHA256, out.KeyFingerprint, out.FromTrustStore = res.SHA256, res.KeyFingerprint, res.FromTrustStore
		out.Profile = res.Profile
		if res.Statement != nil {
			out.AppKey, out.Version = res.Statement.AppKey, res.Statement.Version
		}
	}
	return json.NewEncoder(w).Encode(out)
}
