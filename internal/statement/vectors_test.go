package statement

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the code")

const vectorsPath = "testdata/vectors.json"

// vectorFile is the layout of testdata/vectors.json. Byte strings are
// lowercase hex.
type vectorFile struct {
	Comment string          `json:"comment"`
	Valid   []validVector   `json:"valid"`
	Invalid []invalidVector `json:"invalid"`
}

type validVector struct {
	Name string `json:"name"`
	// Seed is the 32-byte RFC 8032 private key.
	Seed      string `json:"seed"`
	PublicKey string `json:"public_key"`
	// Fields are the statement's values as encoded, in statement order.
	Fields vectorFields `json:"fields"`
	// Archive is the archive the statement describes, when small enough.
	Archive string `json:"archive,omitempty"`
	// StatementText is the statement for reading; Statement is authoritative.
	StatementText string `json:"statement_text"`
	// Statement is the exact encoded statement.
	Statement string `json:"statement"`
	// Signature is the pure Ed25519 signature of Statement under Seed.
	Signature string `json:"signature"`
}

type vectorFields struct {
	AppKey        string `json:"app-key"`
	Version       string `json:"version"`
	Track         string `json:"track"`
	ArchiveSize   string `json:"archive-size"`
	ArchiveSHA256 string `json:"archive-sha256"`
	ArchiveSHA512 string `json:"archive-sha512"`
	SignedAt      string `json:"signed-at"`
	KeyID         string `json:"key-id"`
	KeyVersion    string `json:"key-version"`
}

func (f vectorFields) values() []string {
	return []string{f.AppKey, f.Version, f.Track, f.ArchiveSize, f.ArchiveSHA256, f.ArchiveSHA512, f.SignedAt, f.KeyID, f.KeyVersion}
}

type invalidVector struct {
	Name      string `json:"name"`
	Statement string `json:"statement"`
}

// vectorArchive is a small archive that is not text.
func vectorArchive() []byte {
	b := make([]byte, 1024)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// buildVectors derives every vector from fixed inputs: Ed25519 signing is
// deterministic, so the output never changes unless the format does.
func buildVectors(t *testing.T) vectorFile {
	t.Helper()
	hello := []byte("hello, world\n")
	private := statementFor(vectorArchive())
	private.Version, private.Track = "2.0.0-rc.1+build.7", TrackPrivateBuild
	private.SignedAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	private.KeyID, private.KeyVersion = "alias/signer/digest-2026", 1
	longest := statementFor(hello)
	longest.AppKey = "a." + strings.Repeat("b", maxAppKeyLen-2)
	longest.Version = strings.Repeat("9", maxVersionLen)
	longest.Track = TrackPrivateBuild
	longest.ArchiveSize = math.MaxInt64
	longest.SignedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	longest.KeyID = strings.Repeat("k", maxKeyIDLen)
	longest.KeyVersion = math.MaxInt32

	inputs := []struct {
		name    string
		st      Statement
		archive []byte
	}{
		{"marketplace", statementFor(hello), hello},
		{"private build", private, vectorArchive()},
		{"longest fields", longest, nil},
	}
	vf := vectorFile{
		Comment: "Digest profile v1 test vectors (docs/digest-profile.md). Regenerate with: go test ./internal/statement -run TestVectors -update",
	}
	for _, in := range inputs {
		msg, err := in.st.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		seed := sha256.Sum256([]byte(Header + "test vector " + in.name))
		key := ed25519.NewKeyFromSeed(seed[:])
		v := in.st.values()
		fields := vectorFields{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]}
		vf.Valid = append(vf.Valid, validVector{
			Name:          in.name,
			Seed:          hex.EncodeToString(seed[:]),
			PublicKey:     hex.EncodeToString(pubOf(key)),
			Fields:        fields,
			Archive:       hex.EncodeToString(in.archive),
			StatementText: string(msg),
			Statement:     hex.EncodeToString(msg),
			Signature:     hex.EncodeToString(ed25519.Sign(key, msg)),
		})
	}
	for _, c := range malformedStatements(t) {
		vf.Invalid = append(vf.Invalid, invalidVector{Name: c.name, Statement: hex.EncodeToString(c.input)})
	}
	return vf
}

// TestVectors regenerates the vectors with -update, and otherwise requires
// the committed file to match the code byte for byte and to be right on
// its own terms.
func TestVectors(t *testing.T) {
	want, err := json.MarshalIndent(buildVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(vectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the vectors the code produces; if the format changed on purpose, run with -update", vectorsPath)
	}

	var vf vectorFile
	if err := json.Unmarshal(got, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Valid) == 0 || len(vf.Invalid) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vf.Valid {
		t.Run("valid/"+v.Name, func(t *testing.T) { checkValidVector(t, v) })
	}
	for _, v := range vf.Invalid {
		t.Run("invalid/"+v.Name, func(t *testing.T) {
			if _, err := Parse(unhex(t, v.Statement)); !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("Parse = %v, want chain.ErrMalformed", err)
			}
		})
	}
}

// checkValidVector checks a vector from the file alone, as another
// implementation would.
func checkValidVector(t *testing.T, v validVector) {
	msg, sig := unhex(t, v.Statement), unhex(t, v.Signature)
	key := ed25519.NewKeyFromSeed(unhex(t, v.Seed))
	if !bytes.Equal(pubOf(key), unhex(t, v.PublicKey)) {
		t.Fatal("public key does not belong to the seed")
	}
	if !ed25519.Verify(pubOf(key), msg, sig) || !bytes.Equal(ed25519.Sign(key, msg), sig) {
		t.Fatal("signature is not the pure Ed25519 signature of the statement")
	}
	st, err := Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	text.WriteString(Header)
	for i, value := range v.Fields.values() {
		text.WriteString(fieldOrder[i] + " " + value + "\n")
	}
	if text.String() != string(msg) || v.StatementText != string(msg) {
		t.Fatalf("fields or text do not match the statement:\n%s", text.String())
	}
	if v.Archive != "" {
		d, err := digestArchive(t.Context(), bytes.NewReader(unhex(t, v.Archive)), st.ArchiveSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.match(st); err != nil {
			t.Fatal(err)
		}
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectorsOpenSSL checks the vectors with OpenSSL, which knows nothing
// of this format: it must verify the signature over the statement bytes
// with -rawin (pure Ed25519), produce the same signature from the seed, and
// reject a statement with one byte changed.
func TestVectorsOpenSSL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	got, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(got, &vf); err != nil {
		t.Fatal(err)
	}
	for _, v := range vf.Valid {
		t.Run(v.Name, func(t *testing.T) {
			dir := t.TempDir()
			key := ed25519.NewKeyFromSeed(unhex(t, v.Seed))
			pubPath := writePEM(t, dir, "public_key.pem", "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(pubOf(key))))
			keyPath := writePEM(t, dir, "private_key.pem", "PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(key)))
			msg := unhex(t, v.Statement)
			stmtPath := writeFile(t, dir, "statement.txt", msg)
			sigPath := writeFile(t, dir, "signature.bin", unhex(t, v.Signature))
			badPath := writeFile(t, dir, "tampered.txt", flipByte(msg, len(msg)-2))

			run(t, openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", stmtPath, "-sigfile", sigPath)
			if out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", badPath, "-sigfile", sigPath).CombinedOutput(); err == nil {
				t.Fatalf("openssl verified a tampered statement: %s", out)
			}
			sig := run(t, openssl, "pkeyutl", "-sign", "-inkey", keyPath, "-rawin", "-in", stmtPath)
			if !bytes.Equal(sig, unhex(t, v.Signature)) {
				t.Fatalf("openssl signature %x, vector has %s", sig, v.Signature)
			}
		})
	}
}

// TestOpenSSLByHand runs the manual procedure of docs/digest-profile.md on
// a signature file: public key from the certificate, signature over the
// statement, certificate chain to the trust store, archive digests.
func TestOpenSSLByHand(t *testing.T) {
	openssl := requireTool(t, "openssl")
	c := newTestChain(t, time.Now())
	archive := bytes.Repeat([]byte("PK jar bytes "), 10000)
	f := signedFile(t, c.leafKey, statementFor(archive), c.leaf)
	st, err := Parse(f.Statement)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath := writeFile(t, dir, "certificate.pem", f.Certificate)
	stmtPath := writeFile(t, dir, "statement.txt", f.Statement)
	sigPath := writeFile(t, dir, "signature.bin", f.Signature)
	rootPath := writeFile(t, dir, "root.pem", chain.CertificatePEM(c.root))
	interPath := writeFile(t, dir, "intermediate.pem", chain.CertificatePEM(c.inter))
	jarPath := writeFile(t, dir, "app.jar", archive)

	pub := run(t, openssl, "x509", "-in", certPath, "-noout", "-pubkey")
	pubPath := writeFile(t, dir, "public_key.pem", pub)
	run(t, openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", stmtPath, "-sigfile", sigPath)
	run(t, openssl, "verify", "-CAfile", rootPath, "-untrusted", interPath, certPath)
	for _, d := range []struct {
		alg  string
		want []byte
	}{{"-sha256", st.SHA256}, {"-sha512", st.SHA512}} {
		out := run(t, openssl, "dgst", d.alg, "-r", jarPath)
		if got, _, _ := strings.Cut(string(out), " "); got != hex.EncodeToString(d.want) {
			t.Errorf("openssl dgst %s = %s, statement says %x", d.alg, got, d.want)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	return writeFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// run runs a command and returns its standard output; it fails the test
// with the command's output when the command fails.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}
