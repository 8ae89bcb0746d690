package pgcluster

import "testing"

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		sign int
	}{
		{"major", "15", "9", 1},
		{"old dotted", "9.6", "10", -1},
		{"equal", "15", "15", 0},
		{"minor", "16.1", "16", 1},
		{"not a number", "beta", "1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compareVersions(tt.a, tt.b)
			if (got > 0) != (tt.sign > 0) || (got < 0) != (tt.sign < 0) {
				t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.sign)
			}
		})
	}
}
