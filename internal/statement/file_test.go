package statement

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/chain"
)

func TestFileRoundTrip(t *testing.T) {
	c := newTestChain(t, testNow)
	f := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf)
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"profile":"digest-v1","statement":"` + base64.StdEncoding.EncodeToString(f.Statement) +
		`","signature":"` + base64.StdEncoding.EncodeToString(f.Signature) +
		`","certificate":"` + base64.StdEncoding.EncodeToString(f.Certificate) + `"}`
	if string(b) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", b, want)
	}
	got, err := ParseFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Statement, f.Statement) || !bytes.Equal(got.Signature, f.Signature) || !bytes.Equal(got.Certificate, f.Certificate) {
		t.Fatalf("ParseFile(Marshal()) = %+v, want %+v", got, f)
	}
}

func TestFileMarshalInvalid(t *testing.T) {
	c := newTestChain(t, testNow)
	good := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf)
	tests := []struct {
		name string
		edit func(*File)
	}{
		{"no statement", func(f *File) { f.Statement = nil }},
		{"CRLF statement", func(f *File) { f.Statement = bytes.ReplaceAll(f.Statement, []byte("\n"), []byte("\r\n")) }},
		{"no signature", func(f *File) { f.Signature = nil }},
		{"65-byte signature", func(f *File) { f.Signature = append(f.Signature, 0) }},
		{"no certificate", func(f *File) { f.Certificate = nil }},
		{"DER certificate", func(f *File) { f.Certificate = c.leaf.Raw }},
		{"certificate chain", func(f *File) { f.Certificate = append(f.Certificate, chain.CertificatePEM(c.inter)...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good
			tt.edit(&f)
			if b, err := f.Marshal(); !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("Marshal = %q, %v; want chain.ErrMalformed", b, err)
			}
		})
	}
}

func TestParseFileMalformed(t *testing.T) {
	c := newTestChain(t, testNow)
	f := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf)
	good, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	b64 := base64.StdEncoding.EncodeToString
	stmt, sig, cert := b64(f.Statement), b64(f.Signature), b64(f.Certificate)
	file := func(members ...string) []byte { return []byte("{" + strings.Join(members, ",") + "}") }
	m := func(name, value string) string { return `"` + name + `":"` + value + `"` }
	upm, err := chain.SignatureFile{Signature: f.Signature, Certificate: f.Certificate}.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		input []byte
	}{
		{"empty", nil},
		{"not JSON", []byte("appsign.dev/digest-statement/v1\n")},
		{"JSON array", []byte(`["digest-v1"]`)},
		{"UPM signature file", upm},
		{"trailing newline", append(bytes.Clone(good), '\n')},
		{"trailing object", append(bytes.Clone(good), "{}"...)},
		{"leading space", append([]byte(" "), good...)},
		{"space after colon", []byte(strings.Replace(g, `"profile":"`, `"profile": "`, 1))},
		{"pretty-printed", []byte(strings.ReplaceAll(strings.ReplaceAll(g, `","`, "\",\n  \""), "{", "{\n  "))},
		{"escaped character", []byte(strings.Replace(g, "digest-v1", `digest\u002dv1`, 1))},
		{"members reordered", file(m("profile", "digest-v1"), m("signature", sig), m("statement", stmt), m("certificate", cert))},
		{"profile last", file(m("statement", stmt), m("signature", sig), m("certificate", cert), m("profile", "digest-v1"))},
		{"duplicate member", file(m("profile", "digest-v1"), m("statement", stmt), m("statement", stmt), m("signature", sig), m("certificate", cert))},
		{"unknown member", file(m("profile", "digest-v1"), m("statement", stmt), m("signature", sig), m("certificate", cert), m("comment", "x"))},
		{"member name in another case", file(m("Profile", "digest-v1"), m("statement", stmt), m("signature", sig), m("certificate", cert))},
		{"no profile", file(m("statement", stmt), m("signature", sig), m("certificate", cert))},
		{"no certificate", file(m("profile", "digest-v1"), m("statement", stmt), m("signature", sig))},
		{"profile upm", file(m("profile", "upm"), m("statement", stmt), m("signature", sig), m("certificate", cert))},
		{"profile digest-v2", file(m("profile", "digest-v2"), m("statement", stmt), m("signature", sig), m("certificate", cert))},
		{"profile not a string", []byte(strings.Replace(g, `"digest-v1"`, `1`, 1))},
		{"null certificate", file(m("profile", "digest-v1"), m("statement", stmt), m("signature", sig), `"certificate":null`)},
		{"unpadded base64", file(m("profile", "digest-v1"), m("statement", stmt), m("signature", strings.TrimRight(sig, "=")), m("certificate", cert))},
		{"URL-safe base64", file(m("profile", "digest-v1"), m("statement", stmt), m("signature", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 64))), m("certificate", cert))},
		{"base64 with line break", file(m("profile", "digest-v1"), m("statement", stmt[:40]+`\n`+stmt[40:]), m("signature", sig), m("certificate", cert))},
		{"63-byte signature", file(m("profile", "digest-v1"), m("statement", stmt), m("signature", b64(f.Signature[:63])), m("certificate", cert))},
		{"malformed statement", file(m("profile", "digest-v1"), m("statement", b64(append(bytes.Clone(f.Statement), 'x'))), m("signature", sig), m("certificate", cert))},
		{"archive instead of statement", file(m("profile", "digest-v1"), m("statement", b64([]byte("PK\x03\x04"))), m("signature", sig), m("certificate", cert))},
		{"DER certificate", file(m("profile", "digest-v1"), m("statement", stmt), m("signature", sig), m("certificate", b64(c.leaf.Raw)))},
		{"two certificates", file(m("profile", "digest-v1"), m("statement", stmt), m("signature", sig), m("certificate", b64(append(bytes.Clone(f.Certificate), chain.CertificatePEM(c.inter)...))))},
		{"oversize", append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxFileSize)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFile(tt.input)
			if !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("ParseFile = %+v, %v; want chain.ErrMalformed", got, err)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestDetectProfile(t *testing.T) {
	c := newTestChain(t, testNow)
	digest, err := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(c.leafKey, []byte("archive"))
	upm, err := chain.SignatureFile{Signature: sig, Certificate: chain.CertificatePEM(c.leaf)}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	upmNoCert, err := chain.SignatureFile{Signature: sig}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input []byte
		want  string // "": error
	}{
		{"digest-v1 file", digest, ProfileDigestV1},
		{"UPM file", upm, ProfileUPM},
		{"UPM file without certificate", upmNoCert, ProfileUPM},
		{"UPM file with spaces, as a person writes it", []byte(`{ "signature": "` + base64.StdEncoding.EncodeToString(sig) + `" }`), ProfileUPM},
		{"profile member anywhere", []byte(`{"signature":"x","profile":"digest-v1"}`), ProfileDigestV1},
		{"unknown profile", []byte(`{"profile":"digest-v2","signature":"x"}`), ""},
		{"profile upm spelled out", []byte(`{"profile":"upm","signature":"x"}`), ""},
		{"duplicate profile", []byte(`{"profile":"digest-v1","profile":"upm"}`), ""},
		{"profile not a string", []byte(`{"profile":1}`), ""},
		{"not JSON", []byte("PK\x03\x04"), ""},
		{"JSON array", []byte(`[]`), ""},
		{"trailing data", append(bytes.Clone(upm), "{}"...), ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DetectProfile(tt.input)
			if tt.want == "" {
				if !errors.Is(err, chain.ErrMalformed) {
					t.Fatalf("DetectProfile = %q, %v; want chain.ErrMalformed", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DetectProfile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
