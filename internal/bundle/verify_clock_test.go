package bundle_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/bundle"
)

// TestVerifyClockSkewAllowance: a bundle issued up to five minutes in the
// verifier's future (clocks differ) verifies without a word; further
// ahead, Verify warns that the machine's clock looks wrong.
func TestVerifyClockSkewAllowance(t *testing.T) {
	f := newFixture(t, testNow.Add(-time.Hour)) // certificates valid well before the export
	dir := f.export(t, f.bundle(1), testNow)
	for _, tt := range []struct {
		behind time.Duration
		warn   bool
	}{{4 * time.Minute, false}, {6 * time.Minute, true}} {
		v, err := bundle.Verify(dir, f.trust(), testNow.Add(-tt.behind))
		if err != nil {
			t.Fatal(err)
		}
		warned := slices.ContainsFunc(v.Warnings, func(w string) bool { return strings.Contains(w, "clock") })
		if warned != tt.warn {
			t.Errorf("verifier %v behind: warnings %q, want a clock warning %v", tt.behind, v.Warnings, tt.warn)
		}
	}
}
