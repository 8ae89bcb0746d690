package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIncidentStateReadsBothSerialKeys: the state file is written with
// cert_serial, and one written by an older signerctl (certificate_serial)
// still resumes with its certificate.
func TestIncidentStateReadsBothSerialKeys(t *testing.T) {
	tests := []struct {
		name, file string
	}{
		{"current", `{"key":"app-signing","cert_serial":"0a1b","done":{"rotate":true}}`},
		{"older signerctl", `{"key":"app-signing","certificate_serial":"0a1b","done":{"rotate":true}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, incidentStateFile), []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := loadIncidentState(dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.CertSerial != "0a1b" || st.Key != "app-signing" || !st.Done[phaseRotate] {
				t.Fatalf("loaded %+v, want key app-signing, serial 0a1b, rotate done", st)
			}
			if err := st.save(dir); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, incidentStateFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"cert_serial": "0a1b"`) || strings.Contains(string(b), "certificate_serial") {
				t.Fatalf("saved state:\n%s\nwant cert_serial only", b)
			}
		})
	}
}
