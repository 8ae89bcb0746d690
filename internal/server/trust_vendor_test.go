package server

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestParseVendorCSR(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "v"}}, priv)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, ec)
	forged := append([]byte(nil), der...)
	forged[len(forged)-1] ^= 1 // last byte of the signature

	cases := []struct {
		name    string
		csr     []byte
		wantErr bool
	}{
		{"DER", der, false},
		{"PEM", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), false},
		{"wrong PEM type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), true},
		{"not Ed25519", ecDER, true},
		{"signature does not prove possession", forged, true},
		{"garbage", []byte("hello"), true},
	}
	for _, tc := range cases {
		got, err := parseVendorCSR(tc.csr)
		if tc.wantErr {
			var ce *clientError
			if !errors.As(err, &ce) || ce.code != codes.InvalidArgument {
				t.Errorf("%s: err = %v, want an INVALID_ARGUMENT client error", tc.name, err)
			}
			continue
		}
		if err != nil || !got.Equal(pub) {
			t.Errorf("%s: key %x, err %v; want the CSR's key", tc.name, got, err)
		}
	}
}

// FuzzParseVendorCSR: a vendor's CSR is outside input. Whatever the bytes,
// the parser returns a key or an INVALID_ARGUMENT client error, and a key
// only when the CSR's signature proves possession of it.
func FuzzParseVendorCSR(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "v"}}, priv)
	f.Add(der)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := parseVendorCSR(b)
		if err != nil {
			var ce *clientError
			if !errors.As(err, &ce) || ce.code != codes.InvalidArgument {
				t.Fatalf("err = %v, want an INVALID_ARGUMENT client error", err)
			}
			return
		}
		if len(key) != ed25519.PublicKeySize {
			t.Fatalf("accepted a key of %d bytes", len(key))
		}
	})
}
