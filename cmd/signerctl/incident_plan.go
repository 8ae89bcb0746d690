package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// incidentPlan is what --dry-run prints: nothing of it is carried out.
type incidentPlan struct {
	Key              string          `json:"key"`
	KeyVersion       int32           `json:"key_version"`
	Rotate           bool            `json:"rotate"`
	Fingerprint      string          `json:"revoke_key_fingerprint"`
	CertIssuer       string          `json:"revoke_certificate_issuer"`
	CertSerial       string          `json:"revoke_cert_serial"`
	From             time.Time       `json:"from"`
	Reason           string          `json:"reason"`
	Approvals        []string        `json:"approval_targets"`
	AffectedEntries  int64           `json:"affected_entries"`
	AffectedByApp    []appTrackCount `json:"affected_by_app_and_track"`
	ResignVersions   int64           `json:"resign_versions"`
	ResignDigest     int64           `json:"resign_digest_versions"`
	MissingArchives  []string        `json:"missing_archives"`
	ArchiveRevoked   int64           `json:"archive_revoked_versions"`
	NextListVersion  uint64          `json:"next_revocation_list_version"`
	CRLCA            string          `json:"crl_ca"`
	BundleVersion    uint64          `json:"bundle_version"`
	BundleDir        string          `json:"bundle_dir"`
	ExistingStateDir bool            `json:"resumes_existing_state"`
}

// plan prints what a run would do. It only reads: the keys, the ledger
// (the key version's signatures from T, as the revocation will select
// them), the latest list version and the archives.
func (r *incidentRun) plan() error {
	st, v, err := r.identify()
	if err != nil {
		return err
	}
	r.st = st
	p := incidentPlan{
		Key: st.Key, KeyVersion: v.GetVersion(), Rotate: v.GetState() == signerv1.KeyState_KEY_STATE_ACTIVE,
		Fingerprint: st.Fingerprint, CertIssuer: st.CertIssuer, CertSerial: st.CertSerial, From: st.From, Reason: st.Reason,
		CRLCA: r.o.crlCA, BundleVersion: r.o.bundleVersion, BundleDir: filepath.Join(r.o.out, fmt.Sprintf("bundle-v%d", r.o.bundleVersion)),
		MissingArchives: []string{},
	}
	if prev, err := loadIncidentState(r.o.out); err == nil && prev != nil {
		p.ExistingStateDir = true
	}
	for action, target := range r.approvalTargets() {
		p.Approvals = append(p.Approvals, action+" "+target)
	}
	set, err := r.affected(&signerv1.ListEntriesRequest{KeyId: st.Key, KeyVersion: v.GetVersion(), SignedFrom: timestamppb.New(r.from)})
	if err != nil {
		return err
	}
	p.AffectedEntries, p.AffectedByApp, p.ArchiveRevoked = set.entries, sortedCounts(set.byApp), int64(len(set.revoked))
	finder, err := newArchiveFinder(r.o.archives, r.o.manifest)
	if err != nil {
		return err
	}
	for _, it := range set.versions {
		p.ResignVersions++
		if it.digest() {
			p.ResignDigest++
			continue
		}
		if path, why := finder.find(it.entry); path == "" {
			p.MissingArchives = append(p.MissingArchives, fmt.Sprintf("entry %d %s %s: %s", it.entry.GetId(), it.entry.GetAppKey(), it.entry.GetVersion(), why))
		}
	}
	latest, err := signerv1.NewTrustServiceClient(r.conn).GetRevocationList(r.cmd.Context(), &signerv1.GetRevocationListRequest{})
	switch {
	case err == nil:
		p.NextListVersion = latest.GetVersion() + 1
	case status.Code(err) == codes.NotFound:
		p.NextListVersion = 1
	default:
		return rpcError("get revocation list", err)
	}
	w := r.cmd.OutOrStdout()
	if r.o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	fmt.Fprintf(w, "Plan (dry run: nothing is changed)\n")
	if p.Rotate {
		fmt.Fprintf(w, "1. rotate key %s: version %d is active; a new version takes over\n", p.Key, p.KeyVersion)
	} else {
		fmt.Fprintf(w, "1. rotate: not needed, key %s version %d is no longer active\n", p.Key, p.KeyVersion)
	}
	fmt.Fprintf(w, "2. revoke key %s from %s, reason %s\n3. revoke certificate %s serial %s from the same time\n   (two-person rule: a second security admin approves each)\n",
		p.Fingerprint, p.From.Format(time.RFC3339Nano), p.Reason, p.CertIssuer, p.CertSerial)
	fmt.Fprintf(w, "4. re-sign %d version(s) (%d by digest) of %d affected signature(s):\n", p.ResignVersions, p.ResignDigest, p.AffectedEntries)
	for _, c := range p.AffectedByApp {
		fmt.Fprintf(w, "     %-40s %-14s %d\n", c.App, c.Track, c.Count)
	}
	fmt.Fprintf(w, "   %d archive(s) missing, %d version(s) with a revoked archive (not re-signed)\n", len(p.MissingArchives), p.ArchiveRevoked)
	for _, m := range p.MissingArchives {
		fmt.Fprintf(w, "     missing: %s\n", m)
	}
	fmt.Fprintf(w, "5. publish revocation list version %d and the CRL of CA %s\n6. export trust bundle version %d to %s\n7. write %s and %s, checked against the ledger\n",
		p.NextListVersion, p.CRLCA, p.BundleVersion, p.BundleDir, filepath.Join(r.o.out, "report.json"), filepath.Join(r.o.out, "report.txt"))
	return nil
}
