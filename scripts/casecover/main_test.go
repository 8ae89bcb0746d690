package main

import (
	"fmt"
	"testing"
)

const src = `package p

func f(n int) string {
	switch {
	case n > 10:
		return "big"
	case n > 0,
		n < -5:
		return "small"
	case n == -1:
	default:
		return "none"
	}
	switch n {
	case 3:
		return "three"
	}
	return ""
}
`

func TestCaseBlocks(t *testing.T) {
	// The blocks go test -cover writes for src: each clause's body starts
	// after its colon.
	const name = "example.com/m/p/f.go"
	tests := []struct {
		name    string
		profile string
		want    string
	}{
		{"bodies that ran lend their count to their case expressions",
			"mode: set\n" + name + ":5.14,6.15 1 1\n" + name + ":8.10,9.17 1 1\n" + name + ":15.9,16.17 1 1\n",
			name + ":5.2,5.13 0 1\n" + name + ":7.2,8.9 0 1\n" + name + ":15.2,15.8 0 1\n"},
		{"a body that never ran leaves its expression uncovered",
			"mode: set\n" + name + ":5.14,6.15 1 0\n" + name + ":8.10,9.17 1 1\n",
			name + ":5.2,5.13 0 0\n" + name + ":7.2,8.9 0 1\n"},
		{"no block, no case block (empty body, default)",
			"mode: set\n" + name + ":11.10,12.16 1 1\n",
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := caseBlocks([]byte(tt.profile), func(n string) ([]byte, error) {
				if n != name {
					return nil, fmt.Errorf("read %s", n)
				}
				return []byte(src), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("caseBlocks =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestCaseBlocksRejectsBadProfile(t *testing.T) {
	for _, line := range []string{"no colon", "f.go:1.1,2.2 1", "f.go:x.1,2.2 1 1", "f.go:1.1,2.2 1 y"} {
		if _, err := caseBlocks([]byte("mode: set\n"+line+"\n"), nil); err == nil {
			t.Errorf("caseBlocks(%q) succeeded", line)
		}
	}
}
