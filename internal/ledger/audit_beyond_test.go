package ledger

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

// TestAuditFindsRowsBeyondTheLog: a DBA who inserts a signature row and
// gives it a log index the log has not reached (hoping a later leaf will
// seem to vouch for it) is caught: no leaf records the row, and the finding
// says the index is beyond the end of the log.
func TestAuditFindsRowsBeyondTheLog(t *testing.T) {
	rows, leaves, key := auditFixture(t, 3) // 6 leaves: indexes 0-5
	keys := map[KeyRef]ed25519.PublicKey{{"k", 1}: key.Public().(ed25519.PublicKey)}
	tests := []struct {
		name     string
		logIndex int64
		want     string // "" = no finding about the extra row's index
	}{
		{"first index past the end", 6, "entry 1000: names leaf 6, beyond the end of the log (6 leaves)"},
		{"far past the end", 50, "entry 1000: names leaf 50, beyond the end of the log (6 leaves)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := rows[1]
			x.ID, x.LogIndex = 1000, tt.logIndex
			a := runAudit(append(append([]Entry(nil), rows...), x), leaves, keys)
			var got []string
			for _, f := range a.Findings {
				got = append(got, f.String())
			}
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("findings %q; want one containing %q", got, tt.want)
			}
		})
	}
	// The last real leaf is inside the log: an untouched ledger has no findings.
	if a := runAudit(rows, leaves, keys); len(a.Findings) != 0 {
		t.Fatalf("clean ledger: findings %v", a.Findings)
	}
}

func TestFindingString(t *testing.T) {
	tests := []struct {
		name string
		f    Finding
		want string
	}{
		{"leaf and entry", Finding{Index: 7, EntryID: 3, Problem: "p"}, "leaf 7 (entry 3): p"},
		{"leaf 0 and entry 1", Finding{Index: 0, EntryID: 1, Problem: "p"}, "leaf 0 (entry 1): p"},
		{"leaf only", Finding{Index: 4, EntryID: 0, Problem: "p"}, "leaf 4: p"},
		{"entry only", Finding{Index: -1, EntryID: 9, Problem: "p"}, "entry 9: p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
