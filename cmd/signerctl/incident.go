package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

func newIncidentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "Bad-day procedures as one resumable command (security-admin)",
	}
	cmd.AddCommand(newIncidentKeyCompromiseCommand())
	return cmd
}

// incidentOptions are the flags of `incident key-compromise`.
type incidentOptions struct {
	key, from, reason, out, archives, manifest, output      string
	conn                                                    client
	keyVersion                                              int32
	dryRun                                                  bool
	approvals                                               []string
	workers, batchItems                                     int
	nextUpdate                                              time.Duration
	crlCA                                                   string
	bundleKey, bundleConfig, bundleKeyURI, bundleSignerCert string
	bundleVersion                                           uint64
	stopAfter                                               string
	signCert, signKey                                       string
}

func newIncidentKeyCompromiseCommand() *cobra.Command {
	var o incidentOptions
	cmd := &cobra.Command{
		Use:   "key-compromise --server ADDR --key NAME --from TIME --out DIR (--archives DIR | --manifest FILE) --bundle-key FILE --bundle-signer-cert FILE --bundle-version N [--dry-run]",
		Short: "Handle a compromised archive-signing key: rotate, revoke, re-sign, publish, export, report",
		Long: `Run docs/trust.md's runbook for a compromised archive-signing key, from
--from (T) on, completely and resumably:

  rotate      rotate NAME if the compromised version is still active
  revoke-key  revoke the key (its fingerprint) from T, reason --reason
  revoke-certificate  revoke its signing certificate from T
  re-sign     re-sign every affected app version (all of them: paged from
              the ledger, never capped) through SignBatch, batches of at most
              1000 items and 4 MiB, --workers in flight; idempotency key
              resign:r<R>:e<E>, the one a replay's refusal names, so a rerun
              never signs twice
  publish     the next revocation list (exact offline entries) and the CRL of
              --crl-ca
  bundle      the next trust bundle with both, to --out/bundle-v<N>
  report      --out/report.json and --out/report.txt; the counts are checked
              against the ledger (ListEntries by revocation and by re-sign
              key) and the command fails if they differ

--dry-run prints the plan (affected versions by app and track, what will be
revoked, re-signed and published, which archives are missing) and writes
nothing, on the server or on disk.

Archives come from --archives DIR, laid out as backfill's
DIR/<app-key>/<version>/<archive>, or --manifest FILE, one archive path per
line (relative to the manifest; matched by SHA-256). A re-signed archive's
signature file is written next to it as <archive>.sig. Digest-profile
entries are re-signed from their recorded digests and need no archive.
Affected versions without an archive are listed in the report and the
command exits 1 after finishing every other phase: add them and rerun.

Two-person rule: revoking the key and its certificate need a second security
admin. Without approvals the command requests both, prints them for the
second admin (signerctl approval show ID; signerctl approval approve
--params-sha256 HASH ID) and stops; rerun the same command once they are
approved (or pass --approval ID). signer dev waives the rule.

--out DIR holds incident-state.json: the phases done. Interrupted anywhere,
the same command run again continues where it stopped, without duplicating
or skipping anything; a rerun with another --key, --from or --reason is
refused.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runIncident(cmd, o)
		},
	}
	addConnFlags(cmd, &o.conn)
	f := cmd.Flags()
	f.StringVar(&o.key, "key", "", "name of the compromised archive-signing key, e.g. marketplace-signing (required)")
	f.Int32Var(&o.keyVersion, "key-version", 0, "compromised version of --key (default: the active one, at the first run)")
	f.StringVar(&o.from, "from", "", "T: the compromise began at this time, RFC 3339 (required)")
	f.StringVar(&o.reason, "reason", "key-compromise", "revocation reason")
	f.StringVar(&o.out, "out", "", "directory for the state file, revocation list, CRL, bundle and report (required)")
	f.StringVar(&o.archives, "archives", "", "archives of the affected versions: DIR/<app-key>/<version>/<archive>")
	f.StringVar(&o.manifest, "manifest", "", "archives of the affected versions: a file listing one path per line")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
	f.StringArrayVar(&o.approvals, "approval", nil, "an approved approval id (revoke-key or revoke-signing-certificate); repeatable")
	f.IntVar(&o.workers, "workers", 4, "SignBatch calls in flight at once")
	f.IntVar(&o.batchItems, "batch-items", resignBatchItems, "items per SignBatch call, at most 1000 (each call also stays under 4 MiB)")
	f.DurationVar(&o.nextUpdate, "next-update", 7*24*time.Hour, "how long the revocation list and CRL stay fresh")
	f.StringVar(&o.crlCA, "crl-ca", "marketplace", "CA whose CRL is issued: the CA that issued the key's certificate")
	f.StringVar(&o.bundleKey, "bundle-key", "", "bundle-signing software key: key file or softkms: URI")
	configFlag(cmd, &o.bundleConfig, "(for --bundle-key-uri)")
	f.StringVar(&o.bundleKeyURI, "bundle-key-uri", "", "bundle-signing key in any backend of --config")
	f.StringVar(&o.bundleSignerCert, "bundle-signer-cert", "", "certificate of the bundle-signing key, PEM")
	f.Uint64Var(&o.bundleVersion, "bundle-version", 0, "version of the bundle to export: one more than the last published")
	addOutputFlag(cmd, &o.output, "text", "json")
	f.StringVar(&o.signCert, "sign-tls-cert", "", "client certificate of the review pipeline's identity for re-signing (security admins may not sign); default: the --tls-cert connection")
	f.StringVar(&o.signKey, "sign-tls-key", "", "its key file, mode 0600")
	f.StringVar(&o.stopAfter, "stop-after", "", "stop after this phase (drills: shows a rerun resumes): "+fmt.Sprint(incidentPhases))
	requireFlags(cmd, "key", "from", "out")
	cmd.MarkFlagsMutuallyExclusive("archives", "manifest")
	cmd.MarkFlagsMutuallyExclusive("bundle-key", "bundle-key-uri")
	cmd.MarkFlagsRequiredTogether("sign-tls-cert", "sign-tls-key")
	return cmd
}

// incidentRun is one invocation of `incident key-compromise`.
type incidentRun struct {
	cmd  *cobra.Command
	o    incidentOptions
	conn *grpc.ClientConn
	// signConn re-signs: the review pipeline's identity, since only it may
	// get marketplace signatures (the same as conn when not given).
	signConn *grpc.ClientConn
	st       *incidentState
	from     time.Time
}

func (o incidentOptions) check() (time.Time, error) {
	switch {
	case o.workers < 1 || o.workers > 64:
		return time.Time{}, usagef("--workers must be 1..64")
	case o.batchItems < 1 || o.batchItems > resignBatchItems:
		return time.Time{}, usagef("--batch-items must be 1..%d", resignBatchItems)
	case o.stopAfter != "" && !slices.Contains(incidentPhases, o.stopAfter):
		return time.Time{}, usagef("--stop-after: one of %v", incidentPhases)
	}
	if _, err := revocation.ParseReason(o.reason); err != nil {
		return time.Time{}, usagef("--reason %q: one of %s", o.reason, reasonList())
	}
	t, err := time.Parse(time.RFC3339Nano, o.from)
	if err != nil {
		return time.Time{}, usagef("--from %q: want an absolute RFC 3339 time (the approval binds it), e.g. 2026-03-01T09:30:00Z", o.from)
	}
	if !o.dryRun && (o.bundleSignerCert == "" || o.bundleVersion == 0 || (o.bundleKey == "") == (o.bundleKeyURI == "")) {
		return time.Time{}, usagef("the next trust bundle needs --bundle-signer-cert, --bundle-version and one of --bundle-key FILE or --config FILE --bundle-key-uri URI")
	}
	return t.UTC(), nil
}

func runIncident(cmd *cobra.Command, o incidentOptions) error {
	from, err := o.check()
	if err != nil {
		return err
	}
	conn, err := o.conn.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	r := &incidentRun{cmd: cmd, o: o, conn: conn, signConn: conn, from: from}
	if o.signCert != "" {
		pipeline := o.conn
		pipeline.cert, pipeline.key = o.signCert, o.signKey
		if r.signConn, err = pipeline.dial(); err != nil {
			return err
		}
		defer r.signConn.Close()
	}
	if o.dryRun {
		return r.plan()
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return withCode(exitError, err)
	}
	if r.st, err = loadIncidentState(o.out); err != nil {
		return err
	}
	if r.st == nil {
		st, _, err := r.identify()
		if err != nil {
			return err
		}
		r.st = st
		if err := r.save(); err != nil {
			return err
		}
	} else if err := r.sameIncident(); err != nil {
		return err
	}
	if r.st.Done[phaseResign] && r.st.Resign.Missing > 0 {
		// A rerun after archives were added: re-sign again (what was
		// signed replays) and report again.
		r.st.Done[phaseResign], r.st.Done[phaseReport] = false, false
	}
	if err := r.takeApprovalFlags(); err != nil {
		return err
	}
	steps := map[string]func() error{
		phaseRotate: r.rotate, phaseRevokeKey: r.revokeKey, phaseRevokeCert: r.revokeCert,
		phaseResign: r.resign, phasePublish: r.publish, phaseBundle: r.bundle, phaseReport: r.report,
	}
	for p := r.st.next(); p != ""; p = r.st.next() {
		r.logf("phase %s", p)
		began := time.Now()
		if err := steps[p](); err != nil {
			return err
		}
		r.st.Done[p] = true
		r.st.PhaseSeconds[p] += time.Since(began).Seconds()
		if err := r.save(); err != nil {
			return err
		}
		if p == o.stopAfter {
			r.logf("stopped after phase %s (--stop-after): run the same command without it to continue", p)
			return nil
		}
	}
	return r.finish()
}

func (r *incidentRun) save() error { return r.st.save(r.o.out) }

func (r *incidentRun) logf(format string, args ...any) {
	fmt.Fprintf(r.cmd.ErrOrStderr(), "incident: "+format+"\n", args...)
}

// sameIncident refuses a rerun whose parameters differ from the state's.
func (r *incidentRun) sameIncident() error {
	st := r.st
	if st.Key != r.o.key || !st.From.Equal(r.from) || st.Reason != r.o.reason || (r.o.keyVersion != 0 && r.o.keyVersion != st.KeyVersion) {
		return usagef("%s/%s is the state of another incident (key %s v%d from %s, reason %s): rerun with exactly those, or use another --out",
			r.o.out, incidentStateFile, st.Key, st.KeyVersion, st.From.Format(time.RFC3339Nano), st.Reason)
	}
	return nil
}

// compromisedVersion finds the key and its compromised version.
func (r *incidentRun) compromisedVersion() (*signerv1.Key, *signerv1.KeyVersion, error) {
	resp, err := signerv1.NewKeyServiceClient(r.conn).ListKeys(r.cmd.Context(), &signerv1.ListKeysRequest{})
	if err != nil {
		return nil, nil, rpcError("list keys", err)
	}
	var key *signerv1.Key
	for _, k := range resp.GetKeys() {
		if k.GetName() == r.o.key {
			key = k
		}
	}
	if key == nil {
		return nil, nil, usagef("--key %s: no such key on the server (signerctl key list)", r.o.key)
	}
	want := r.o.keyVersion
	for _, v := range key.GetVersions() {
		if (want == 0 && v.GetState() == signerv1.KeyState_KEY_STATE_ACTIVE) || (want != 0 && v.GetVersion() == want) {
			if want == 0 && v.GetCreatedAt().AsTime().After(r.from) && len(key.GetVersions()) > 1 {
				return nil, nil, usagef("key %s: its active version %d was created after --from (%s), so it was rotated after the compromise began: pass --key-version with the compromised version",
					key.GetName(), v.GetVersion(), r.from.Format(time.RFC3339))
			}
			if v.GetCertificatePem() == "" {
				return nil, nil, withCode(exitError, fmt.Errorf("key %s version %d has no certificate to revoke", key.GetName(), v.GetVersion()))
			}
			return key, v, nil
		}
	}
	if want == 0 {
		return nil, nil, usagef("key %s has no active version: pass --key-version", key.GetName())
	}
	return nil, nil, usagef("key %s has no version %d", key.GetName(), want)
}

// identify fixes the incident's parameters at the first run.
func (r *incidentRun) identify() (*incidentState, *signerv1.KeyVersion, error) {
	_, v, err := r.compromisedVersion()
	if err != nil {
		return nil, nil, err
	}
	c, err := chain.ParseCertificatePEM([]byte(v.GetCertificatePem()))
	if err != nil {
		return nil, nil, withCode(exitError, fmt.Errorf("key %s version %d: certificate: %w", r.o.key, v.GetVersion(), err))
	}
	fp := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return &incidentState{
		Key: r.o.key, KeyVersion: v.GetVersion(), From: r.from, Reason: r.o.reason,
		Fingerprint: hex.EncodeToString(fp[:]), CertPEM: v.GetCertificatePem(),
		CertIssuer: c.Issuer.String(), CertSerial: hex.EncodeToString(c.SerialNumber.Bytes()),
		Done: map[string]bool{}, Approvals: map[string]string{}, PhaseSeconds: map[string]float64{}, Started: time.Now().UTC(),
	}, v, nil
}

// rotate gives the key a new active version if the compromised one is
// still active (the server refuses to revoke an active version).
func (r *incidentRun) rotate() error {
	key, v, err := r.findVersion(r.st.KeyVersion)
	if err != nil {
		return err
	}
	if v.GetState() != signerv1.KeyState_KEY_STATE_ACTIVE {
		for _, o := range key.GetVersions() {
			if o.GetState() == signerv1.KeyState_KEY_STATE_ACTIVE {
				r.st.NewKeyVersion = o.GetVersion()
			}
		}
		r.logf("key %s version %d is not active (already rotated): the active version is %d", r.st.Key, r.st.KeyVersion, r.st.NewKeyVersion)
		return nil
	}
	resp, err := signerv1.NewKeyServiceClient(r.conn).RotateKey(r.cmd.Context(), &signerv1.RotateKeyRequest{Name: r.st.Key})
	if err != nil {
		return rpcError("rotate key", err)
	}
	for _, o := range resp.GetKey().GetVersions() {
		if o.GetState() == signerv1.KeyState_KEY_STATE_ACTIVE {
			r.st.NewKeyVersion = o.GetVersion()
		}
	}
	r.st.Rotated = true
	r.logf("rotated key %s: version %d is active, version %d retired", r.st.Key, r.st.NewKeyVersion, r.st.KeyVersion)
	return nil
}

// findVersion reads one version of the incident's key from the server.
func (r *incidentRun) findVersion(version int32) (*signerv1.Key, *signerv1.KeyVersion, error) {
	resp, err := signerv1.NewKeyServiceClient(r.conn).ListKeys(r.cmd.Context(), &signerv1.ListKeysRequest{})
	if err != nil {
		return nil, nil, rpcError("list keys", err)
	}
	for _, k := range resp.GetKeys() {
		if k.GetName() != r.st.Key {
			continue
		}
		for _, v := range k.GetVersions() {
			if v.GetVersion() == version {
				return k, v, nil
			}
		}
	}
	return nil, nil, withCode(exitError, fmt.Errorf("key %s version %d is gone from the server", r.st.Key, version))
}
