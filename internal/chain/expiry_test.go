package chain

import (
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestChainsToRoots(t *testing.T) {
	now := time.Now()
	c := newTestChain(t, now)
	other := newTestChain(t, now)
	next, err := NewIntermediateCA(rand.Reader, c.root, c.rootKey, pubOf(newKey(t)), "next marketplace CA", now.Add(30*24*time.Hour), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		err     error
		wantErr string
	}{
		{"the root itself", ChainsToRoots(c.root, []*x509.Certificate{c.root}, nil, now), ""},
		{"an intermediate under it", ChainsToRoots(c.inter, []*x509.Certificate{c.root}, nil, now), ""},
		{"a leaf through the intermediate", ChainsToRoots(c.leaf, []*x509.Certificate{c.root}, []*x509.Certificate{c.inter}, now), ""},
		{"a next CA not valid yet", ChainsToRoots(next, []*x509.Certificate{c.root}, nil, now), ""},
		{"another hierarchy's CA", ChainsToRoots(other.inter, []*x509.Certificate{c.root}, nil, now), "does not chain"},
		{"a leaf without its intermediate", ChainsToRoots(c.leaf, []*x509.Certificate{c.root}, nil, now), "does not chain"},
		{"an expired CA", ChainsToRoots(c.inter, []*x509.Certificate{c.root}, nil, now.Add(6*365*24*time.Hour)), "expired"},
	}
	for _, tt := range tests {
		switch {
		case tt.wantErr == "" && tt.err != nil:
			t.Errorf("%s: %v", tt.name, tt.err)
		case tt.wantErr != "" && (tt.err == nil || !strings.Contains(tt.err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want %q", tt.name, tt.err, tt.wantErr)
		}
	}
}
