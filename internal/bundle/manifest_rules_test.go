package bundle

import (
	"errors"
	"testing"
	"time"
)

// TestParseManifestRules: the structure a manifest must have before any of
// its files is looked at. The manifest is signed, but its signer is only
// one key: these rules keep a bundle from carrying two manifest signers to
// choose from, two revocation lists (which one is current?), no root, or
// file names that escape the trust store folder or shadow the bundle's own
// files.
func TestParseManifestRules(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	file := func(name, role string) File {
		return File{Name: name, Role: role, SHA256: "00", SHA512: "00"}
	}
	root, signer := file("root.pem", RoleRoot), file("signer.pem", RoleSigner)
	tests := []struct {
		name    string
		version uint64
		files   []File
		ok      bool
	}{
		{"root and signer", 1, []File{root, signer}, true},
		{"with one revocation list", 1, []File{root, signer, file("revoked.json", RoleRevocationList)}, true},
		{"two roots", 1, []File{root, file("root2.pem", RoleRoot), signer}, true},
		{"version 0", 0, []File{root, signer}, false},
		{"no root", 1, []File{signer, file("inter.pem", RoleIntermediate)}, false},
		{"no signer", 1, []File{root}, false},
		{"two signers", 1, []File{root, signer, file("signer2.pem", RoleSigner)}, false},
		{"two revocation lists", 1, []File{root, signer, file("a.json", RoleRevocationList), file("b.json", RoleRevocationList)}, false},
		{"the same name twice", 1, []File{root, signer, file("root.pem", RoleIntermediate)}, false},
		{"a path", 1, []File{root, signer, file("../x.pem", RoleIntermediate)}, false},
		{"a hidden file", 1, []File{root, signer, file(".bundle-manifest.json", RoleIntermediate)}, false},
		{"a name with a space", 1, []File{root, signer, file("a b.pem", RoleIntermediate)}, false},
		{"the manifest's own name", 1, []File{root, signer, file(ManifestFile, RoleIntermediate)}, false},
		{"the signature's name", 1, []File{root, signer, file(SignatureFile, RoleIntermediate)}, false},
		{"a sums file's name", 1, []File{root, signer, file(SHA256SumsFile, RoleIntermediate)}, false},
		{"the other sums file's name", 1, []File{root, signer, file(SHA512SumsFile, RoleIntermediate)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeManifest(&Manifest{Format: Format, BundleVersion: tt.version, IssuedAt: at, ValidUntil: at.Add(time.Hour), Files: tt.files})
			if err != nil {
				t.Fatal(err)
			}
			m, err := parseManifest(b)
			if tt.ok {
				if err != nil || len(m.Files) != len(tt.files) {
					t.Fatalf("parseManifest = %v, %v; want the manifest", m, err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || m != nil {
				t.Fatalf("parseManifest = %v, %v; want ErrMalformed", m, err)
			}
		})
	}
}
