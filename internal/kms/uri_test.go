package kms

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  bool
		get      map[string]string
	}{
		{"soft path", "softkms:path=/var/lib/signer/k.key", false, map[string]string{"path": "/var/lib/signer/k.key"}},
		{"pkcs11", "pkcs11:token=signer;object=signing-2026", false, map[string]string{"token": "signer", "object": "signing-2026"}},
		{"escaped", "softkms:path=/a%3Bb/c%20d.key", false, map[string]string{"path": "/a;b/c d.key"}},
		{"arn", "awskms:key-id=arn:aws:kms:us-east-1:111122223333:key/abc", false, map[string]string{"key-id": "arn:aws:kms:us-east-1:111122223333:key/abc"}},
		{"case-insensitive names", "pkcs11:Token=x", false, map[string]string{"token": "x"}},
		{"no scheme", "path=/x", true, nil},
		{"bad scheme", "Soft_KMS:path=/x", true, nil},
		{"attr without value", "pkcs11:token", true, nil},
		{"repeated", "pkcs11:token=a;token=b", true, nil},
		{"pin refused", "pkcs11:token=a;pin-value=1234", true, nil},
		{"passphrase refused", "softkms:path=/x;passphrase=hunter2", true, nil},
		{"bad escape", "softkms:path=/x%zz", true, nil},
		{"attr name with a space", "pkcs11:to ken=a", true, nil},
		{"attr name not ASCII", "pkcs11:t\xbdken=a", true, nil},
		{"too long once encoded", "softkms:path=/" + strings.Repeat("\xbd", 700), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURI(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidURI) {
					t.Fatalf("ParseURI(%q) = %v, want ErrInvalidURI", tt.in, err)
				}
				for _, secret := range []string{"1234", "hunter2"} {
					if err != nil && strings.Contains(err.Error(), secret) {
						t.Fatalf("error echoes a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.get {
				if u.Get(k) != v {
					t.Errorf("Get(%q) = %q, want %q", k, u.Get(k), v)
				}
			}
			again, err := ParseURI(u.String())
			if err != nil || again.String() != u.String() {
				t.Fatalf("String() %q does not round-trip: %v", u.String(), err)
			}
		})
	}
}

func TestURIStringReadable(t *testing.T) {
	u := NewURI("softkms", map[string]string{"path": "/var/lib/signer/keys/a.key"})
	if got, want := u.String(), "softkms:path=/var/lib/signer/keys/a.key"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
