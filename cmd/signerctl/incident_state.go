package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The phases of `incident key-compromise`, in order. The state file records
// each one as it completes, so a rerun continues at the first that did not.
const (
	phaseRotate     = "rotate"
	phaseRevokeKey  = "revoke-key"
	phaseRevokeCert = "revoke-certificate"
	phaseResign     = "re-sign"
	phasePublish    = "publish"
	phaseBundle     = "bundle"
	phaseReport     = "report"
)

var incidentPhases = []string{phaseRotate, phaseRevokeKey, phaseRevokeCert, phaseResign, phasePublish, phaseBundle, phaseReport}

// incidentStateFile is the state file's name in --out.
const incidentStateFile = "incident-state.json"

// incidentState is what a run has done so far; it lives in --out and is
// rewritten (through a rename) after every step that changes the server.
type incidentState struct {
	// The incident, fixed by the first run: a rerun with other parameters
	// is refused rather than mixed into this one.
	Key         string    `json:"key"`
	KeyVersion  int32     `json:"key_version"`
	From        time.Time `json:"from"`
	Reason      string    `json:"reason"`
	Fingerprint string    `json:"fingerprint"`
	CertPEM     string    `json:"certificate_pem"`
	CertIssuer  string    `json:"certificate_issuer"`
	CertSerial  string    `json:"cert_serial"`

	Done      map[string]bool   `json:"done"`
	Approvals map[string]string `json:"approvals,omitempty"` // action → approval id

	NewKeyVersion     int32        `json:"new_key_version,omitempty"`
	Rotated           bool         `json:"rotated,omitempty"` // this command rotated (not the operator before it)
	KeyRevocationID   int64        `json:"key_revocation_id,omitempty"`
	KeyRevokedAt      time.Time    `json:"key_revoked_at"`
	KeyAffectedTotal  int64        `json:"key_affected_total,omitempty"`
	CertRevocationID  int64        `json:"certificate_revocation_id,omitempty"`
	CertAffectedTotal int64        `json:"certificate_affected_total,omitempty"`
	ListVersion       uint64       `json:"revocation_list_version,omitempty"`
	ListFile          string       `json:"revocation_list_file,omitempty"`
	CRLNumber         int64        `json:"crl_number,omitempty"`
	CRLFile           string       `json:"crl_file,omitempty"`
	BundleDir         string       `json:"bundle_dir,omitempty"`
	BundleVersion     uint64       `json:"bundle_version,omitempty"`
	Resign            resignCounts `json:"resign"`
	// PhaseSeconds is each phase's time, summed over runs.
	PhaseSeconds map[string]float64 `json:"phase_seconds"`
	Started      time.Time          `json:"started"`
}

func loadIncidentState(dir string) (*incidentState, error) {
	b, err := os.ReadFile(filepath.Join(dir, incidentStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, withCode(exitError, err)
	}
	var st incidentState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, withCode(exitError, fmt.Errorf("%s: %w (a damaged state file: move it away only if you know which phases ran)", filepath.Join(dir, incidentStateFile), err))
	}
	if st.Done == nil {
		st.Done = map[string]bool{}
	}
	if st.Approvals == nil {
		st.Approvals = map[string]string{}
	}
	if st.PhaseSeconds == nil {
		st.PhaseSeconds = map[string]float64{}
	}
	return &st, nil
}

// save writes the state through a temp file and a rename: an interruption
// leaves the previous state or this one, never half of one.
func (st *incidentState) save(dir string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeSigFile(filepath.Join(dir, incidentStateFile), append(b, '\n'))
}

// next is the first phase not done, or "" when all are.
func (st *incidentState) next() string {
	for _, p := range incidentPhases {
		if !st.Done[p] {
			return p
		}
	}
	return ""
}
