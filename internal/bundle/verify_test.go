package bundle_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/bundle"
)

func TestExportThenVerify(t *testing.T) {
	f := newFixture(t, testNow)
	b := f.bundle(3)
	b.RevocationList = f.revocationList(t, 9, testNow)
	b.CRLs = [][]byte{f.crl(t, 4, testNow)}
	dir := f.export(t, b, testNow)

	v, err := bundle.Verify(dir, f.trust(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	m := v.Manifest
	if m.Format != bundle.Format || m.BundleVersion != 3 || !m.IssuedAt.Equal(testNow) {
		t.Errorf("manifest header = %q v%d issued %v", m.Format, m.BundleVersion, m.IssuedAt)
	}
	// The bundle expires with its first certificate: the signer's (2y).
	if !m.ValidUntil.Equal(f.bundleCert.NotAfter) {
		t.Errorf("ValidUntil = %v, want the earliest NotAfter %v", m.ValidUntil, f.bundleCert.NotAfter)
	}
	wantFiles := map[string]string{
		fileName("root", f.root):          bundle.RoleRoot,
		fileName("intermediate", f.inter): bundle.RoleIntermediate,
		bundle.SignerFile:                 bundle.RoleSigner,
		bundle.RevocationListFile:         bundle.RoleRevocationList,
	}
	for _, file := range m.Files {
		if file.Role == bundle.RoleCRL && strings.HasPrefix(file.Name, "crl-") && file.Version == "4" {
			continue
		}
		if wantFiles[file.Name] != file.Role {
			t.Errorf("unexpected manifest entry %s (%s)", file.Name, file.Role)
		}
		delete(wantFiles, file.Name)
		if len(file.SHA256) != 64 || len(file.SHA512) != 128 {
			t.Errorf("%s: digests %q / %q", file.Name, file.SHA256, file.SHA512)
		}
	}
	if len(wantFiles) != 0 || len(m.Files) != 5 {
		t.Errorf("manifest lacks %v (has %d files)", wantFiles, len(m.Files))
	}
	root := m.Files[0]
	if root.Subject != f.root.Subject.String() || root.FingerprintSHA256 != bundle.Fingerprint(f.root) || !root.NotAfter.Equal(f.root.NotAfter) {
		t.Errorf("root entry = %+v", root)
	}
	if len(v.Certificates) != 2 || !v.Certificates[0].Cert.Equal(f.root) || !v.Certificates[1].Cert.Equal(f.inter) {
		t.Errorf("Certificates = %+v, want root then intermediate", v.Certificates)
	}
	if !v.Signer.Equal(f.bundleCert) || !bytes.Equal(v.RevocationList, b.RevocationList) || v.RevocationListVersion != 9 || len(v.CRLs) != 1 {
		t.Errorf("Verified signer %v, list v%d, %d CRLs", v.Signer.Subject, v.RevocationListVersion, len(v.CRLs))
	}
	if len(v.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none", v.Warnings)
	}
	for _, name := range []string{bundle.ManifestFile, bundle.SignatureFile, bundle.SHA256SumsFile, bundle.SHA512SumsFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	f := newFixture(t, testNow)
	b := f.bundle(1)
	b.RevocationList = f.revocationList(t, 1, testNow)
	dir := f.export(t, b, testNow)
	rootFile := fileName("root", f.root)
	interFile := fileName("intermediate", f.inter)
	other := newFixture(t, testNow)

	tests := []struct {
		name     string
		damage   func(t *testing.T, dir string)
		want     error
		wantFile string
	}{
		{"manifest changed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundle.ManifestFile)
			overwrite(t, p, bytes.Replace(readFile(t, p), []byte(`"bundle_version": 1`), []byte(`"bundle_version": 9`), 1))
		}, bundle.ErrBadSignature, bundle.ManifestFile},
		{"signature changed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundle.SignatureFile)
			sig := readFile(t, p)
			sig[10] ^= 1
			overwrite(t, p, sig)
		}, bundle.ErrBadSignature, bundle.SignatureFile},
		{"signer certificate swapped", func(t *testing.T, dir string) {
			writePEM(t, dir, bundle.SignerFile+".new", other.bundleCert)
			if err := os.Rename(filepath.Join(dir, bundle.SignerFile+".new"), filepath.Join(dir, bundle.SignerFile)); err != nil {
				t.Fatal(err)
			}
		}, bundle.ErrBadSignature, bundle.SignerFile},
		{"PEM file changed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, interFile)
			overwrite(t, p, append(readFile(t, p), '\n'))
		}, bundle.ErrDigestMismatch, interFile},
		{"PEM file replaced by another CA", func(t *testing.T, dir string) {
			overwrite(t, filepath.Join(dir, rootFile), readFile(t, filepath.Join(dir, interFile)))
		}, bundle.ErrDigestMismatch, rootFile},
		{"revocation list changed", func(t *testing.T, dir string) {
			overwrite(t, filepath.Join(dir, bundle.RevocationListFile), other.revocationList(t, 1, testNow))
		}, bundle.ErrDigestMismatch, bundle.RevocationListFile},
		{"SHA512SUMS line changed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundle.SHA512SumsFile)
			sums := readFile(t, p)
			i := bytes.Index(sums, []byte("  "+bundle.ManifestFile))
			// Another hex digit at the end of the manifest's line.
			if sums[i-1] == '0' {
				sums[i-1] = '1'
			} else {
				sums[i-1] = '0'
			}
			overwrite(t, p, sums)
		}, bundle.ErrDigestMismatch, bundle.SHA512SumsFile},
		{"SHA256SUMS line dropped", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundle.SHA256SumsFile)
			lines := strings.SplitAfter(string(readFile(t, p)), "\n")
			overwrite(t, p, []byte(strings.Join(lines[1:], "")))
		}, bundle.ErrMalformed, bundle.SHA256SumsFile},
		{"SHA256SUMS in binary mode", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundle.SHA256SumsFile)
			overwrite(t, p, bytes.ReplaceAll(readFile(t, p), []byte("  "), []byte(" *")))
		}, bundle.ErrMalformed, bundle.SHA256SumsFile},
		{"extra file", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("hi"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, bundle.ErrUnexpectedFile, "README.txt"},
		{"extra CA file", func(t *testing.T, dir string) {
			writePEM(t, dir, fileName("root", other.root), other.root)
		}, bundle.ErrUnexpectedFile, fileName("root", other.root)},
		{"missing file", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, interFile)); err != nil {
				t.Fatal(err)
			}
		}, bundle.ErrMissingFile, interFile},
		{"missing signature", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, bundle.SignatureFile)); err != nil {
				t.Fatal(err)
			}
		}, bundle.ErrMissingFile, bundle.SignatureFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := copyDir(t, dir)
			if _, err := bundle.Verify(d, f.trust(), testNow); err != nil {
				t.Fatalf("undamaged copy: %v", err)
			}
			tt.damage(t, d)
			v, err := bundle.Verify(d, f.trust(), testNow)
			if !errors.Is(err, tt.want) || v != nil {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.wantFile) {
				t.Errorf("error %q does not name %s", err, tt.wantFile)
			}
		})
	}
}

func TestVerifySymlinkRefused(t *testing.T) {
	f := newFixture(t, testNow)
	d := copyDir(t, f.export(t, f.bundle(1), testNow))
	interFile := fileName("intermediate", f.inter)
	real := filepath.Join(t.TempDir(), "inter.pem")
	if err := os.Rename(filepath.Join(d, interFile), real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(d, interFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Verify(d, f.trust(), testNow); !errors.Is(err, bundle.ErrMalformed) || !strings.Contains(err.Error(), interFile) {
		t.Errorf("Verify with a symlinked file = %v, want ErrMalformed naming %s", err, interFile)
	}
}

func TestVerifyTrust(t *testing.T) {
	f := newFixture(t, testNow)
	attacker := newFixture(t, testNow)
	dir := f.export(t, f.bundle(1), testNow)

	rootSigned := f.bundle(1)
	rootSigned.SignerCertificate = f.root
	rootSignedDir := filepath.Join(t.TempDir(), "root-signed")
	if err := bundle.Export(t.Context(), rootSignedDir, rootSigned, f.rootKey, testNow); err != nil {
		t.Fatal(err)
	}
	// The attacker ships the vendor's CAs plus their own root, signed
	// with their own bundle key.
	evil := attacker.bundle(1)
	evil.Roots = append(evil.Roots, f.root)
	evilDir := attacker.export(t, evil, testNow)

	colonFP := strings.ToUpper(bundle.Fingerprint(f.root))
	var b strings.Builder
	for i := 0; i < len(colonFP); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(colonFP[i : i+2])
	}

	tests := []struct {
		name    string
		dir     string
		trust   bundle.Trust
		want    error
		wantMsg string
	}{
		{name: "root in trust store", dir: dir, trust: f.trust()},
		{name: "root key signs", dir: rootSignedDir, trust: f.trust()},
		{name: "bootstrap by fingerprint", dir: dir, trust: bundle.Trust{BootstrapFingerprint: "SHA256 Fingerprint=" + b.String()}},
		{name: "no trust at all", dir: dir, want: bundle.ErrUntrusted, wantMsg: "no trusted root"},
		{name: "other root", dir: dir, trust: attacker.trust(), want: bundle.ErrUntrusted, wantMsg: bundle.SignerFile},
		{name: "bootstrap fingerprint of another root", dir: dir, trust: bundle.Trust{BootstrapFingerprint: bundle.Fingerprint(attacker.root)}, want: bundle.ErrUntrusted, wantMsg: "no root with fingerprint"},
		{name: "attacker bundle with our root inside", dir: evilDir, trust: f.trust(), want: bundle.ErrUntrusted, wantMsg: bundle.SignerFile},
		{name: "malformed fingerprint", dir: dir, trust: bundle.Trust{BootstrapFingerprint: "abcd"}, want: bundle.ErrUntrusted},
		{name: "signer certificate expired", dir: dir, trust: f.trust(), want: bundle.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := testNow
			if tt.want == bundle.ErrExpired {
				now = f.bundleCert.NotAfter.Add(time.Second)
			}
			_, err := bundle.Verify(tt.dir, tt.trust, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Verify = %v, want %v saying %q", err, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestVerifyValidity(t *testing.T) {
	f := newFixture(t, testNow)
	soon := f.intermediate(t, "test expiring CA", testNow, 40*day)
	next := f.intermediate(t, "test next CA", testNow.Add(90*day), 5*year)
	b := f.bundle(1)
	b.Intermediates = append(b.Intermediates, soon, next)
	b.RevocationList = f.revocationList(t, 1, testNow)
	dir := f.export(t, b, testNow)

	tests := []struct {
		name         string
		now          time.Time
		want         error
		wantWarnings []string
	}{
		{name: "at export", now: testNow},
		{name: "15 days later", now: testNow.Add(15 * day), wantWarnings: []string{fileName("intermediate", soon) + `: certificate "CN=test expiring CA,O=signer" expires`, bundle.RevocationListFile + ": revocation: verify: revocation list is stale"}},
		{name: "after the first certificate expires", now: testNow.Add(41 * day), want: bundle.ErrExpired, wantWarnings: []string{fileName("intermediate", soon)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := bundle.Verify(dir, f.trust(), tt.now)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantWarnings[0]) {
					t.Fatalf("Verify = %v, want %v naming %s", err, tt.want, tt.wantWarnings[0])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Warnings) != len(tt.wantWarnings) {
				t.Fatalf("Warnings = %q, want %d", v.Warnings, len(tt.wantWarnings))
			}
			for i, w := range tt.wantWarnings {
				if !strings.HasPrefix(v.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to start with %q", i, v.Warnings[i], w)
				}
			}
		})
	}
}

func TestParseFingerprint(t *testing.T) {
	const fp = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	tests := []struct {
		in      string
		wantErr bool
	}{
		{fp, false},
		{strings.ToUpper(fp), false},
		{"sha256:" + fp, false},
		{"SHA256 Fingerprint=00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", false},
		{fp[:62], true},
		{fp + "00", true},
		{"zz" + fp[2:], true},
		{"sha256:", true},
		{"Sha256 fingerprint=" + fp, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := bundle.ParseFingerprint(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Errorf("ParseFingerprint = %q, want an error", got)
				}
				return
			}
			if err != nil || got != fp {
				t.Errorf("ParseFingerprint = %q, %v; want %s", got, err, fp)
			}
		})
	}
}
