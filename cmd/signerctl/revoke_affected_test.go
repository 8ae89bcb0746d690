package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// TestResignFailsOnUnlistedSignatures: when the server says a revocation
// covers more signatures than its response lists, --resign-dir cannot
// re-sign the rest and must fail saying how many, never exit 0.
func TestResignFailsOnUnlistedSignatures(t *testing.T) {
	cases := []struct {
		name    string
		listed  int
		total   int64
		wantErr string
	}{
		{"nothing listed of three", 0, 3, "3 more affected signature(s)"},
		{"count from an older server (zero)", 0, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := &cobra.Command{}
			cmd.SetOut(&out)
			affected := make([]*signerv1.LedgerEntry, tc.listed)
			err := resign(t.Context(), cmd, nil, t.TempDir(), 1, affected, tc.total)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("resign: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("resign error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestPrintRevocationCountsUnlisted: the text says how many signatures the
// revocation covers and that the list is partial; JSON carries the total.
func TestPrintRevocationCountsUnlisted(t *testing.T) {
	entries := []*signerv1.LedgerEntry{{Id: 1}, {Id: 2}}
	r := &signerv1.Revocation{Id: 7, Kind: signerv1.RevocationKind_REVOCATION_KIND_KEY, KeyFingerprint: "ab"}
	cases := []struct {
		name      string
		total     int64
		wantText  string
		wantTotal int64
	}{
		{"partial list", 12000, "12000 signature(s) revoked; only the first 2 are listed here", 12000},
		{"whole list", 2, "2 signature(s) revoked:", 2},
		{"older server sends no count", 0, "2 signature(s) revoked:", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var text, js bytes.Buffer
			cmd := &cobra.Command{}
			cmd.SetOut(&text)
			if err := printRevocation(cmd, "text", r, true, entries, tc.total); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), tc.wantText) {
				t.Errorf("text output %q lacks %q", text.String(), tc.wantText)
			}
			cmd.SetOut(&js)
			if err := printRevocation(cmd, "json", r, true, entries, tc.total); err != nil {
				t.Fatal(err)
			}
			var got revocationJSON
			if err := json.Unmarshal(js.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.AffectedTotal != tc.wantTotal || len(got.Affected) != len(entries) {
				t.Errorf("json affected_total %d with %d entries, want %d with %d", got.AffectedTotal, len(got.Affected), tc.wantTotal, len(entries))
			}
		})
	}
}
