package ledger

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// findingStrings returns a's findings as text.
func findingStrings(a *Audit) []string {
	var out []string
	for _, f := range a.Findings {
		out = append(out, f.String())
	}
	return out
}

// TestAuditFindsReplayedLeaves: a signature leaf logged a second time is
// named, entry ids having to grow with the index, whether the rows are
// intact or the server also serves the recorded row twice to pair with it.
func TestAuditFindsReplayedLeaves(t *testing.T) {
	rows, leaves, key := auditFixture(t, 4) // entries 10-13 at leaves 1, 3, 5, 7
	keys := map[KeyRef]ed25519.PublicKey{{"k", 1}: key.Public().(ed25519.PublicKey)}
	replayed := slices.Clone(leaves)
	replayed[6] = leaves[5] // entry 12's leaf again, in place of another kind's
	replay := "leaf 6 (entry 12): records entry 12 after entry 12: entry ids must grow with the index"
	tests := []struct {
		name string
		rows []Entry
		want []string
	}{
		{"rows intact", rows, []string{replay}},
		{"row served twice", slices.Insert(slices.Clone(rows), 2, rows[2]),
			[]string{"leaf 5 (entry 12): names leaf 5, which does not record it", replay}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := findingStrings(runAudit(tt.rows, replayed, keys))
			if len(got) != len(tt.want) {
				t.Fatalf("findings %q; want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("finding %d: %q; want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestAuditCapsFindings: at most MaxFindings findings are kept, and
// Truncated says when more were found, so that a report of a ledger
// rewritten wholesale neither exhausts memory nor passes for complete.
func TestAuditCapsFindings(t *testing.T) {
	rows, leaves, key := auditFixture(t, 6)
	keys := map[KeyRef]ed25519.PublicKey{{"k", 1}: key.Public().(ed25519.PublicKey)}
	edited := slices.Clone(rows)
	for i := range 4 {
		edited[i].Caller = "mallory" // four findings
	}
	for _, tt := range []struct {
		max       int
		want      int
		truncated bool
	}{
		{0, 4, false}, // the default cap, 1000
		{5, 4, false},
		{4, 4, false},
		{3, 3, true},
		{1, 1, true},
	} {
		t.Run(fmt.Sprint(tt.max), func(t *testing.T) {
			a := NewAudit(rowSeq(edited))
			a.Keys, a.Size, a.MaxFindings = keys, int64(len(leaves)), tt.max
			for i, l := range leaves {
				a.Leaf(int64(i), l)
			}
			if err := a.Finish(int64(len(leaves))); err != nil {
				t.Fatal(err)
			}
			if len(a.Findings) != tt.want || a.Truncated != tt.truncated {
				t.Fatalf("MaxFindings %d: %d findings, truncated %v; want %d, %v", tt.max, len(a.Findings), a.Truncated, tt.want, tt.truncated)
			}
		})
	}
}
