package server

import (
	"strings"
	"testing"
)

func TestValidateAppKey(t *testing.T) {
	tests := []struct {
		name, key string
		ok        bool
	}{
		{"typical", "com.example.my-app", true},
		{"underscore and digits", "org.acme2.plugin_v2", true},
		{"two segments", "io.app", true},
		{"uppercase kept", "com.Atlassian.JiraPlugin", true},
		{"empty", "", false},
		{"one segment", "myapp", false},
		{"leading digit", "1com.example", false},
		{"empty segment", "com..example", false},
		{"trailing dot", "com.example.", false},
		{"space", "com.example app", false},
		{"slash", "com/example.app", false},
		{"unicode", "com.exämple.app", false},
		{"too long", "com." + strings.Repeat("a", 252), false},
		{"max length", "com." + strings.Repeat("a", 251), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateAppKey(tt.key); (err == nil) != tt.ok {
				t.Fatalf("ValidateAppKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
			}
		})
	}
}

func TestValidateVersion(t *testing.T) {
	tests := []struct {
		name, v string
		ok      bool
	}{
		{"semver", "1.4.2", true},
		{"prerelease and build", "2.0.0-rc.1+build.7", true},
		{"maven snapshot", "1.0.0-SNAPSHOT", true},
		{"single number", "7", true},
		{"empty", "", false},
		{"leading v", "v1.0.0", false},
		{"space", "1.0 beta", false},
		{"newline", "1.0\n", false},
		{"too long", "1." + strings.Repeat("0", 63), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateVersion(tt.v); (err == nil) != tt.ok {
				t.Fatalf("ValidateVersion(%q) = %v, want ok=%v", tt.v, err, tt.ok)
			}
		})
	}
}
