package revocation_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocation"
)

func signSample(t *testing.T, key kms.Signer, cert *x509.Certificate) (*revocation.List, []byte) {
	t.Helper()
	l, err := revocation.Build(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	b, err := revocation.Sign(t.Context(), l, key, cert)
	if err != nil {
		t.Fatal(err)
	}
	return l, b
}

func TestSignVerifyRoundTrip(t *testing.T) {
	p := newPKI(t, testNow)
	key := newSigner(t)
	cert := signerCert(t, p.root, p.rootKey, key, revocation.RevocationSigningPolicy(), testNow, year)
	want, b := signSample(t, key, cert)

	got, err := revocation.Verify(b, key.Public(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Verify = %+v\nwant %+v", got, want)
	}
	got, signer, err := revocation.VerifyTrusted(b, []*x509.Certificate{p.root}, nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || !signer.Equal(cert) {
		t.Errorf("VerifyTrusted = %+v, %v\nwant %+v, the revocation signer", got, signer.Subject, want)
	}
	s, err := revocation.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := want.Marshal()
	if !bytes.Equal(s.Payload, payload) || !ed25519.Verify(key.Public(), payload, s.Signature) {
		t.Error("the envelope's signature is not a pure Ed25519 signature over Marshal()")
	}
}

// reenvelope decodes an envelope, lets f change it and encodes it again.
func reenvelope(t *testing.T, b []byte, f func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyRejects(t *testing.T) {
	key := newSigner(t)
	other := newSigner(t)
	_, b := signSample(t, key, nil)
	s, err := revocation.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	// A non-canonical encoding of the same list, validly signed.
	spaced := bytes.Replace(s.Payload, []byte(`"version":7`), []byte(`"version": 7`), 1)
	spacedSig, err := key.SignMessage(t.Context(), spaced)
	if err != nil {
		t.Fatal(err)
	}
	// A higher version with the old signature: a forged list.
	forged := bytes.Replace(s.Payload, []byte(`"version":7`), []byte(`"version":8`), 1)

	tests := []struct {
		name string
		b    []byte
		pub  ed25519.PublicKey
		want error
	}{
		{"payload changed", reenvelope(t, b, func(m map[string]any) { m["list"] = forged }), key.Public(), revocation.ErrBadSignature},
		{"signature changed", reenvelope(t, b, func(m map[string]any) {
			sig := bytes.Clone(s.Signature)
			sig[0] ^= 1
			m["signature"] = sig
		}), key.Public(), revocation.ErrBadSignature},
		{"other key", b, other.Public(), revocation.ErrBadSignature},
		{"non-canonical payload", reenvelope(t, b, func(m map[string]any) { m["list"] = spaced; m["signature"] = spacedSig }), key.Public(), revocation.ErrMalformed},
		{"unknown envelope field", reenvelope(t, b, func(m map[string]any) { m["note"] = "x" }), key.Public(), revocation.ErrMalformed},
		{"short signature", reenvelope(t, b, func(m map[string]any) { m["signature"] = []byte{1, 2, 3} }), key.Public(), revocation.ErrMalformed},
		{"data after envelope", append(bytes.Clone(b), []byte(`{}`)...), key.Public(), revocation.ErrMalformed},
		{"not json", []byte("not a list"), key.Public(), revocation.ErrMalformed},
		{"bad certificate", reenvelope(t, b, func(m map[string]any) { m["certificate"] = []byte("junk") }), key.Public(), revocation.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := revocation.Verify(tt.b, tt.pub, testNow)
			if !errors.Is(err, tt.want) || l != nil {
				t.Errorf("Verify = %v, %v; want nil, %v", l, err, tt.want)
			}
		})
	}
}

func TestVerifyStale(t *testing.T) {
	key := newSigner(t)
	want, b := signSample(t, key, nil)
	tests := []struct {
		name      string
		now       time.Time
		wantStale bool
	}{
		{"before next update", want.NextUpdate.Add(-time.Second), false},
		{"at next update", want.NextUpdate, false},
		{"after next update", want.NextUpdate.Add(time.Microsecond), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := revocation.Verify(b, key.Public(), tt.now)
			if errors.Is(err, revocation.ErrStale) != tt.wantStale {
				t.Fatalf("Verify = %v, want stale=%v", err, tt.wantStale)
			}
			if tt.wantStale && (err == nil || !strings.Contains(err.Error(), "version 7")) {
				t.Errorf("stale error %v does not name the list version", err)
			}
			if !reflect.DeepEqual(l, want) {
				t.Errorf("Verify returned list %+v, want the verified list even when stale", l)
			}
		})
	}
}

func TestVerifyTrusted(t *testing.T) {
	p := newPKI(t, testNow)
	otherPKI := newPKI(t, testNow)
	key := newSigner(t)
	bundlePolicy, err := x509.ParseOID(revocation.PolicyArc + ".1")
	if err != nil {
		t.Fatal(err)
	}
	roots := []*x509.Certificate{p.root}
	inters := []*x509.Certificate{p.inter}

	tests := []struct {
		name    string
		key     kms.Signer
		cert    *x509.Certificate
		inters  []*x509.Certificate
		want    error
		wantMsg string
	}{
		{name: "root key signs", key: p.rootKey, cert: p.root},
		{name: "revocation signer under root", key: key, cert: signerCert(t, p.root, p.rootKey, key, revocation.RevocationSigningPolicy(), testNow, year)},
		{name: "revocation signer under intermediate", key: key, cert: signerCert(t, p.inter, p.interKey, key, revocation.RevocationSigningPolicy(), testNow, year), inters: inters},
		{name: "signer for another purpose", key: key, cert: signerCert(t, p.root, p.rootKey, key, bundlePolicy, testNow, year), want: revocation.ErrUntrusted, wantMsg: "policy"},
		{name: "intermediate CA key", key: p.interKey, cert: p.inter, want: revocation.ErrUntrusted, wantMsg: "CA certificate"},
		{name: "app signing certificate", key: key, cert: codeSigningCert(t, p, key), want: revocation.ErrUntrusted, wantMsg: "policy"},
		{name: "signer under another root", key: key, cert: signerCert(t, otherPKI.root, otherPKI.rootKey, key, revocation.RevocationSigningPolicy(), testNow, year), want: revocation.ErrUntrusted},
		{name: "expired signer", key: key, cert: signerCert(t, p.root, p.rootKey, key, revocation.RevocationSigningPolicy(), testNow.Add(-2*year), year), want: revocation.ErrExpired},
		{name: "no certificate", key: key, want: revocation.ErrUntrusted, wantMsg: "no signer certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, b := signSample(t, tt.key, tt.cert)
			l, signer, err := revocation.VerifyTrusted(b, roots, tt.inters, testNow)
			if tt.want == nil {
				if err != nil || l == nil || !signer.Equal(tt.cert) {
					t.Fatalf("VerifyTrusted = %v, %v, want the list", l, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || l != nil {
				t.Fatalf("VerifyTrusted = %v, %v; want %v", l, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func codeSigningCert(t *testing.T, p testPKI, key kms.Signer) *x509.Certificate {
	t.Helper()
	c := p.leaf(t, testNow)
	// Re-issue for key: leaf() makes its own key.
	tmpl := *c
	tmpl.PublicKey = nil
	der, err := x509.CreateCertificate(nil, &tmpl, p.inter, key.Public(), kms.CryptoSigner(t.Context(), p.interKey))
	if err != nil {
		t.Fatal(err)
	}
	out, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheckNotOlder(t *testing.T) {
	l, err := revocation.Build(sampleInput()) // version 7
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		prev uint64
		want error
	}{{0, nil}, {6, nil}, {7, nil}, {8, revocation.ErrRollback}} {
		t.Run(fmt.Sprintf("previous %d", tt.prev), func(t *testing.T) {
			if err := revocation.CheckNotOlder(tt.prev, l); !errors.Is(err, tt.want) {
				t.Errorf("CheckNotOlder(%d, v7) = %v, want %v", tt.prev, err, tt.want)
			}
		})
	}
}

func TestSignChecksKeyAndSize(t *testing.T) {
	p := newPKI(t, testNow)
	key := newSigner(t)
	small, err := revocation.Build(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	in := sampleInput()
	for i := range 100 {
		in.Archives = append(in.Archives, revocation.RevokedArchive{
			SHA256: fmt.Sprintf("%064x", i+1), Reason: revocation.ReasonMalicious, RevokedAt: testNow,
		})
	}
	large, err := revocation.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	kmsLike := limitedSigner{Signer: key, max: 4096}

	if _, err := revocation.Sign(t.Context(), small, kmsLike, nil); err != nil {
		t.Errorf("Sign of a small list with a 4096-byte key = %v", err)
	}
	if _, err := revocation.Sign(t.Context(), large, kmsLike, nil); !errors.Is(err, kms.ErrMessageTooLarge) {
		t.Errorf("Sign of a large list with a 4096-byte key = %v, want kms.ErrMessageTooLarge", err)
	}
	if _, err := revocation.Sign(t.Context(), small, key, p.root); !errors.Is(err, revocation.ErrInvalidList) {
		t.Errorf("Sign with another key's certificate = %v, want ErrInvalidList", err)
	}
}
