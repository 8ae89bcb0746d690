package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/translog"
)

// archiveWorld is a root CA, a signing key version certified by it, and
// an archive signed with it, as the log records them.
type archiveWorld struct {
	root    *x509.Certificate
	cert    *x509.Certificate
	key     ed25519.PrivateKey
	archive []byte
	path    string
	at      time.Time
}

func newArchiveWorld(t *testing.T) *archiveWorld {
	t.Helper()
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	_, rootKey, _ := ed25519.GenerateKey(rand.Reader)
	root, err := chain.NewRootCA(rand.Reader, rootKey, "audit root", at.Add(-time.Hour), 24*time.Hour*365)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := chain.NewSigningCertificate(rand.Reader, root, rootKey, pub, "signing v1", at.Add(-time.Hour), 24*time.Hour*30)
	if err != nil {
		t.Fatal(err)
	}
	w := &archiveWorld{root: root, cert: cert, key: key, archive: []byte(strings.Repeat("app bytes ", 1000)), at: at}
	w.path = filepath.Join(t.TempDir(), "app.jar")
	if err := os.WriteFile(w.path, w.archive, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *archiveWorld) entry(sig []byte) Entry {
	s256, s512 := sha256.Sum256(w.archive), sha512.Sum512(w.archive)
	return Entry{ID: 1, AppKey: "com.example.app", Version: "1.0.0", Track: TrackMarketplace, ArchiveSize: int64(len(w.archive)),
		SHA256: s256[:], SHA512: s512[:], KeyID: "signing", KeyVersion: 1, CertSerial: w.cert.SerialNumber.Text(16),
		Signature: sig, Caller: "pipeline", ReviewRef: "r", IdempotencyKey: "i", SignedAt: w.at, Profile: ProfileUPM}
}

// leaves returns the key leaf, the certificate leaf and the signature leaf.
func (w *archiveWorld) leaves(t *testing.T, logKey ed25519.PublicKey, e Entry) [][]byte {
	t.Helper()
	kev := KeyEvent(keystore.Event{ID: 1, Name: "signing", Version: 1, Kind: keystore.EventCreated, Actor: "a", At: w.at,
		Detail: keystore.EventDetail{Role: keystore.RoleArchiveSigning, PublicKey: hex.EncodeToString(logKey)}})
	cev := SigningCertificateEvent("signing", 1, w.cert, "a", w.at)
	var out [][]byte
	for _, ev := range []Event{kev, cev} {
		p, err := EncodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, translog.EncodeLeaf(ev.Kind, p, w.at))
	}
	return append(out, translog.EncodeLeaf(translog.KindSignature, EncodeSignature(e), w.at))
}

// TestArchiveCheck re-verifies a default-profile signature over the
// archive with the logged certificate against the auditor's trust store,
// and names each way the archive, the signature, the key or the trust
// can be bent.
func TestArchiveCheck(t *testing.T) {
	w := newArchiveWorld(t)
	good := ed25519.Sign(w.key, w.archive)
	sum := hex.EncodeToString(w.entry(good).SHA256)
	_, otherRootKey, _ := ed25519.GenerateKey(rand.Reader)
	otherRoot, _ := chain.NewRootCA(rand.Reader, otherRootKey, "another root", w.at.Add(-time.Hour), 24*time.Hour*365)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name     string
		sig      []byte
		logKey   ed25519.PublicKey
		root     *x509.Certificate
		archives map[string]string
		tamper   bool
		want     string // "" for none
	}{
		{name: "archive verifies", sig: good},
		{name: "archive changed after listing", sig: good, tamper: true, want: "changed since it was listed"},
		{name: "signature over other bytes", sig: ed25519.Sign(w.key, []byte("other")), want: "does not verify with the logged certificate"},
		{name: "signed by a key outside the service", sig: ed25519.Sign(stranger, w.archive), want: "does not verify with the logged certificate"},
		{name: "certificate does not chain to the trust bundle", sig: good, root: otherRoot, want: "does not verify with the logged certificate"},
		{name: "key leaf records another key", sig: good, logKey: stranger.Public().(ed25519.PublicKey), want: "is not for the logged key"},
		{name: "an archive no leaf signs", sig: good, archives: map[string]string{strings.Repeat("0", 64): "/nonexistent/extra.jar"}, want: "extra.jar (SHA-256 0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(w.path, w.archive, 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.tamper {
				if err := os.WriteFile(w.path, append([]byte("X"), w.archive[1:]...), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			logKey := tt.logKey
			if logKey == nil {
				logKey = w.key.Public().(ed25519.PublicKey)
			}
			root := tt.root
			if root == nil {
				root = w.root
			}
			archives := map[string]string{sum: w.path}
			for k, v := range tt.archives {
				archives[k] = v
			}
			keys := NewLogKeys()
			c := &ArchiveCheck{Archives: archives, Trust: chain.NewTrustStore(root), Keys: keys}
			for i, l := range w.leaves(t, logKey, w.entry(tt.sig)) {
				keys.Leaf(int64(i), l)
				c.Leaf(int64(i), l)
			}
			f := c.Finish(t.Context())
			if tt.want == "" {
				if len(f) != 0 || c.Checked != 1 {
					t.Fatalf("findings %v, %d checked; want none, 1", f, c.Checked)
				}
				return
			}
			index := int64(2) // the signature leaf; an archive no leaf signs has none
			if tt.archives != nil {
				index = -1
			}
			if len(f) != 1 || !strings.Contains(f[0].String(), tt.want) || f[0].Index != index || c.Checked != 0 && tt.archives == nil {
				t.Fatalf("findings %v (%d checked); want one containing %q at index %d", f, c.Checked, tt.want, index)
			}
		})
	}
}

// TestLogKeysAgainstServer: the keys a server presents must be the keys
// the log records; one it adds or swaps is named.
func TestLogKeysAgainstServer(t *testing.T) {
	w := newArchiveWorld(t)
	pub := w.key.Public().(ed25519.PublicKey)
	keys := NewLogKeys()
	for i, l := range w.leaves(t, pub, w.entry(ed25519.Sign(w.key, w.archive))) {
		keys.Leaf(int64(i), l)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if f := keys.CompareServerKeys(map[KeyRef]ed25519.PublicKey{{"signing", 1}: pub}); len(f) != 0 {
		t.Fatalf("the logged key: %v", f)
	}
	f := keys.CompareServerKeys(map[KeyRef]ed25519.PublicKey{{"signing", 1}: other, {"signing", 2}: other})
	if len(f) != 2 || !strings.Contains(f[0].String(), "leaf 0: the server presents another public key for signing v1") ||
		!strings.Contains(f[1].String(), "the server presents signing key signing v2, which no key leaf records") {
		t.Fatalf("findings %v", f)
	}
	// Named in key order, versions by number, whatever order the server
	// listed them in.
	f = keys.CompareServerKeys(map[KeyRef]ed25519.PublicKey{{"zeta", 1}: pub, {"signing", 1}: other, {"alpha", 10}: pub, {"alpha", 2}: pub})
	var got []string
	for _, x := range f {
		got = append(got, x.String())
	}
	want := []string{ // no leaf records an unknown key: no leaf is named
		"the server presents signing key alpha v2, which no key leaf records",
		"the server presents signing key alpha v10, which no key leaf records",
		"leaf 0: the server presents another public key for signing v1 than the log records",
		"the server presents signing key zeta v1, which no key leaf records",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestArchiveCheckCertSerial: the entry's certificate serial must be the
// logged certificate's, written as the ledger writes serials (hex of the
// bytes, with a leading zero) or without the leading zero; any other
// serial is named.
func TestArchiveCheckCertSerial(t *testing.T) {
	w := newArchiveWorld(t)
	for len(w.cert.SerialNumber.Text(16))%2 == 0 { // a serial whose two spellings differ
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		root, err := chain.NewRootCA(rand.Reader, priv, "audit root", w.at.Add(-time.Hour), 24*time.Hour*365)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := chain.NewSigningCertificate(rand.Reader, root, priv, w.key.Public().(ed25519.PublicKey), "signing v1", w.at.Add(-time.Hour), 24*time.Hour*30)
		if err != nil {
			t.Fatal(err)
		}
		w.root, w.cert = root, cert
	}
	short, padded := w.cert.SerialNumber.Text(16), hex.EncodeToString(w.cert.SerialNumber.Bytes())
	for _, tt := range []struct {
		serial string
		want   string // "" for none
	}{
		{short, ""},
		{padded, ""},
		{"1" + short, "the entry names certificate serial 1" + short},
		{"", "the entry names certificate serial ,"},
	} {
		e := w.entry(ed25519.Sign(w.key, w.archive))
		e.CertSerial = tt.serial
		keys := NewLogKeys()
		c := &ArchiveCheck{Archives: map[string]string{hex.EncodeToString(e.SHA256): w.path}, Trust: chain.NewTrustStore(w.root), Keys: keys}
		for i, l := range w.leaves(t, w.key.Public().(ed25519.PublicKey), e) {
			keys.Leaf(int64(i), l)
			c.Leaf(int64(i), l)
		}
		f := c.Finish(t.Context())
		if c.Checked != 1 || (tt.want == "") != (len(f) == 0) || len(f) > 1 || len(f) == 1 && !strings.Contains(f[0].String(), tt.want) {
			t.Errorf("serial %q: findings %v, %d checked; want %q, 1 checked", tt.serial, f, c.Checked, tt.want)
		}
	}
}

// TestArchiveCheckSkipsDigestEntries: a digest-v1 signature signs a
// statement, not the archive, so it is not re-verified as an installing
// instance would verify an archive's signature: the archive it names stays
// uncovered by any UPM signature leaf.
func TestArchiveCheckSkipsDigestEntries(t *testing.T) {
	w := newArchiveWorld(t)
	e := w.entry(nil)
	e.Profile, e.Statement = ProfileDigestV1, []byte("appsign.dev/digest-statement/v1\n")
	e.Signature = ed25519.Sign(w.key, e.Statement)
	sum := hex.EncodeToString(e.SHA256)
	keys := NewLogKeys()
	c := &ArchiveCheck{Archives: map[string]string{sum: w.path}, Trust: chain.NewTrustStore(w.root), Keys: keys}
	digestLeaf := int64(-1)
	for i, l := range w.leaves(t, w.key.Public().(ed25519.PublicKey), e) {
		keys.Leaf(int64(i), l)
		c.Leaf(int64(i), l)
		if leaf, err := translog.DecodeLeaf(l); err == nil && leaf.Kind == translog.KindSignature {
			digestLeaf = int64(i)
		}
	}
	f := c.Finish(t.Context())
	want := fmt.Sprintf("archive %s (SHA-256 %s): no archive (UPM) signature leaf covers it; digest-v1 statement leaf %d names it, "+
		"whose signature the statement check covers, not this re-verification", w.path, sum, digestLeaf)
	if c.Checked != 0 || len(f) != 1 || f[0].String() != want {
		t.Fatalf("findings %v, %d checked; want only %q, none checked", f, c.Checked, want)
	}
}
