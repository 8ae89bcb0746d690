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

const limits = `package p

const max = 1 << 10

var (
	min = -max
)

func g() {}
`

func TestExtraBlocks(t *testing.T) {
	// The blocks go test -cover writes for src: each clause's body starts
	// after its colon.
	const name, other = "example.com/m/p/f.go", "example.com/m/p/limits.go"
	sources := map[string]string{name: src, other: limits}
	const limitBlocks = other + ":3.1,3.20 0 1\n" + other + ":5.1,7.2 0 1\n"
	tests := []struct {
		name    string
		profile string
		want    string
	}{
		{"bodies that ran lend their count to their case expressions",
			"mode: set\n" + name + ":5.14,6.15 1 1\n" + name + ":8.10,9.17 1 1\n" + name + ":15.9,16.17 1 1\n",
			name + ":5.2,5.13 0 1\n" + name + ":7.2,8.9 0 1\n" + name + ":15.2,15.8 0 1\n" + limitBlocks},
		{"a body that never ran leaves its expression uncovered",
			"mode: set\n" + name + ":5.14,6.15 1 0\n" + name + ":8.10,9.17 1 1\n",
			name + ":5.2,5.13 0 0\n" + name + ":7.2,8.9 0 1\n" + limitBlocks},
		{"no block, no case block (empty body, default)",
			"mode: set\n" + name + ":11.10,12.16 1 1\n",
			limitBlocks},
		{"a package none of whose code ran keeps its declarations uncovered",
			"mode: set\n" + name + ":11.10,12.16 1 0\n",
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := extraBlocks([]byte(tt.profile), func(n string) ([]byte, error) {
				s, ok := sources[n]
				if !ok {
					return nil, fmt.Errorf("read %s", n)
				}
				return []byte(s), nil
			}, func(pkg string) ([]string, error) {
				if pkg != "example.com/m/p" {
					return nil, fmt.Errorf("files of %s", pkg)
				}
				return []string{name, other}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("extraBlocks =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestExtraBlocksRejectsBadProfile(t *testing.T) {
	for _, line := range []string{"no colon", "f.go:1.1,2.2 1", "f.go:x.1,2.2 1 1", "f.go:1.1,2.2 1 y"} {
		if _, err := extraBlocks([]byte("mode: set\n"+line+"\n"), nil, nil); err == nil {
			t.Errorf("extraBlocks(%q) succeeded", line)
		}
	}
}
