package chain

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestBundleForNamesAndDedup(t *testing.T) {
	c := newTestChain(t, testNow)
	rotated := newTestChain(t, testNow)
	bundle := BundleFor([]*x509.Certificate{c.root, rotated.root, c.root}, []*x509.Certificate{c.inter, rotated.inter})
	if len(bundle) != 4 {
		t.Fatalf("BundleFor returned %d entries, want 4 (duplicate root dropped)", len(bundle))
	}
	wantRoles := []string{RoleRoot, RoleRoot, RoleIntermediate, RoleIntermediate}
	wantCerts := []*x509.Certificate{c.root, rotated.root, c.inter, rotated.inter}
	names := make(map[string]bool)
	for i, tc := range bundle {
		if tc.Role != wantRoles[i] || !tc.Cert.Equal(wantCerts[i]) {
			t.Errorf("entry %d = %s %s, want %s %s", i, tc.Role, tc.Cert.Subject, wantRoles[i], wantCerts[i].Subject)
		}
		if !regexp.MustCompile(`^` + tc.Role + `-[0-9a-f]{16}\.pem$`).MatchString(tc.FileName) {
			t.Errorf("file name %q does not match <role>-<16 hex>.pem", tc.FileName)
		}
		if names[tc.FileName] {
			t.Errorf("file name %q repeated across rotation", tc.FileName)
		}
		names[tc.FileName] = true
		if parsed, err := ParseCertificatePEM([]byte(tc.PEM)); err != nil || !parsed.Equal(tc.Cert) {
			t.Errorf("entry %d PEM does not hold its certificate: %v", i, err)
		}
	}
}

func TestWriteTrustStoreThenLoad(t *testing.T) {
	c := newTestChain(t, testNow)
	dir := filepath.Join(t.TempDir(), "truststore")
	bundle := BundleFor([]*x509.Certificate{c.root}, []*x509.Certificate{c.inter})
	// Twice: re-installing a bundle must replace the read-only files.
	for range 2 {
		if err := WriteTrustStore(dir, bundle); err != nil {
			t.Fatalf("WriteTrustStore: %v", err)
		}
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o755 {
		t.Errorf("trust store dir mode %04o, want 0755", info.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(bundle) {
		t.Errorf("dir holds %d files, want %d (no temporary files left)", len(entries), len(bundle))
	}
	for _, tc := range bundle {
		info, err := os.Stat(filepath.Join(dir, tc.FileName))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o444 {
			t.Errorf("%s mode %04o, want 0444", tc.FileName, info.Mode().Perm())
		}
	}
	ts, err := LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, i := ts.Roots(), ts.Intermediates(); len(r) != 1 || !r[0].Equal(c.root) || len(i) != 1 || !i[0].Equal(c.inter) || len(ts.Leaves()) != 0 {
		t.Errorf("loaded %d roots, %d intermediates, %d leaves; want the root and the intermediate", len(r), len(i), len(ts.Leaves()))
	}
}

func TestWriteTrustStoreRejects(t *testing.T) {
	c := newTestChain(t, testNow)
	good := BundleFor([]*x509.Certificate{c.root}, nil)[0]
	tests := []struct {
		name string
		mod  func(tc *TrustCert)
	}{
		{"path in file name", func(tc *TrustCert) { tc.FileName = "../escape.pem" }},
		{"subdirectory in file name", func(tc *TrustCert) { tc.FileName = "sub/root.pem" }},
		{"hidden file name", func(tc *TrustCert) { tc.FileName = ".root.pem" }},
		{"not .pem", func(tc *TrustCert) { tc.FileName = "root.txt" }},
		{"PEM not a certificate", func(tc *TrustCert) { tc.PEM = "hello" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := good
			tt.mod(&tc)
			dir := filepath.Join(t.TempDir(), "truststore")
			if err := WriteTrustStore(dir, []TrustCert{good, tc}); err == nil {
				t.Fatal("WriteTrustStore accepted it")
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a rejected bundle was partly written (%v)", err)
			}
		})
	}
}

func TestLoadTrustStoreClassifies(t *testing.T) {
	c := newTestChain(t, testNow)
	custom := selfSignedLeaf(t, newKey(t), testNow, time.Hour, nil)
	dir := t.TempDir()
	writePEMFile(t, dir, "bundle.pem", c.root, c.inter) // several certificates in one file
	writePEMFile(t, dir, "custom-app.CRT", custom)
	writePEMFile(t, dir, "duplicate.crt", c.root)
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "old.pem"), 0o755); err != nil {
		t.Fatal(err)
	}
	ts, err := LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  []*x509.Certificate
		want []*x509.Certificate
	}{
		{"roots", ts.Roots(), []*x509.Certificate{c.root}},
		{"intermediates", ts.Intermediates(), []*x509.Certificate{c.inter}},
		{"leaves", ts.Leaves(), []*x509.Certificate{custom}},
		{"all", ts.Certificates(), []*x509.Certificate{c.root, c.inter, custom}},
	}
	for _, tt := range tests {
		if len(tt.got) != len(tt.want) {
			t.Errorf("%s: %d certificates, want %d", tt.name, len(tt.got), len(tt.want))
			continue
		}
		for i := range tt.got {
			if !tt.got[i].Equal(tt.want[i]) {
				t.Errorf("%s[%d] = %s, want %s", tt.name, i, tt.got[i].Subject, tt.want[i].Subject)
			}
		}
	}
}

func TestLoadTrustStoreErrorsNameTheFile(t *testing.T) {
	c := newTestChain(t, testNow)
	keyPEM, err := marshalKeyPEM(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		content []byte // nil: a dangling symlink
	}{
		{"garbage", "garbage.pem", []byte("this is not PEM")},
		{"empty file", "empty.crt", []byte{}},
		{"private key", "oops.pem", keyPEM},
		{"certificate then garbage", "mixed.pem", append(CertificatePEM(c.root), "trailing junk"...)},
		{"unreadable", "broken.pem", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writePEMFile(t, dir, "root.pem", c.root)
			path := filepath.Join(dir, tt.file)
			if tt.content == nil {
				err = os.Symlink(filepath.Join(dir, "missing"), path)
			} else {
				err = os.WriteFile(path, tt.content, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err := LoadTrustStore(dir)
			if err == nil || !strings.Contains(err.Error(), tt.file) {
				t.Fatalf("LoadTrustStore err = %v, want an error naming %s", err, tt.file)
			}
		})
	}
	if _, err := LoadTrustStore(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: err = %v, want fs.ErrNotExist", err)
	}
}

func TestExpiresSoon(t *testing.T) {
	c := newTestChain(t, testNow)
	short := c.newLeaf(t, pubOf(newKey(t)), testNow, 10*24*time.Hour)
	certs := []*x509.Certificate{c.root, c.inter, c.leaf, short}
	tests := []struct {
		name string
		now  time.Time
		want []*x509.Certificate
	}{
		{"nothing close", testNow, []*x509.Certificate{short}},
		{"leaf within 30 days", c.leaf.NotAfter.Add(-29 * 24 * time.Hour), []*x509.Certificate{c.leaf, short}},
		{"leaf 31 days away", c.leaf.NotAfter.Add(-31 * 24 * time.Hour), []*x509.Certificate{short}},
		{"everything expired", c.root.NotAfter.Add(time.Hour), certs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExpiresSoon(certs, tt.now, RenewWindow)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d certificates, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("[%d] = %s, want %s", i, got[i].Subject, tt.want[i].Subject)
				}
			}
		})
	}
}
