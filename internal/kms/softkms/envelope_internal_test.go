package softkms

import (
	"crypto/ed25519"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/kms"
)

// TestEnvelopeTampering changes one part of an encrypted key file at a
// time and checks that the file is refused without leaking key material.
func TestEnvelopeTampering(t *testing.T) {
	params := KDFParams{Time: 2, MemoryKiB: 64, Threads: 1}
	min := KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	pass := []byte("s3cret-pass")
	_, priv, _ := ed25519.GenerateKey(nil)
	good, err := EncryptPrivateKeyPEM(priv, pass, params, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecryptPrivateKeyPEM(good, pass, min); err != nil {
		t.Fatalf("untampered file: %v", err)
	}

	// reheader re-encodes the file with a changed header and the original ciphertext.
	reheader := func(change func(h *envelopeHeader)) []byte {
		block, _ := pem.Decode(good)
		hdr, env, err := parseEnvelope(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		change(&hdr)
		header, err := asn1.Marshal(hdr)
		if err != nil {
			t.Fatal(err)
		}
		body, err := asn1.Marshal(envelope{Header: asn1.RawValue{FullBytes: header}, Ciphertext: env.Ciphertext})
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: EncryptedPEMType, Bytes: body})
	}
	// rebody changes the DER body directly.
	rebody := func(change func(body []byte) []byte) []byte {
		block, _ := pem.Decode(good)
		return pem.EncodeToMemory(&pem.Block{Type: EncryptedPEMType, Bytes: change(append([]byte(nil), block.Bytes...))})
	}
	ciphertext := func(change func(ct []byte) []byte) []byte {
		block, _ := pem.Decode(good)
		var env envelope
		if _, err := asn1.Unmarshal(block.Bytes, &env); err != nil {
			t.Fatal(err)
		}
		env.Ciphertext = change(env.Ciphertext)
		body, err := asn1.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: EncryptedPEMType, Bytes: body})
	}

	for _, tc := range []struct {
		name string
		file []byte
		pass string
		want error
	}{
		{"wrong passphrase", good, "S3cret-pass", kms.ErrPermission},
		{"time raised", reheader(func(h *envelopeHeader) { h.Time = 3 }), "s3cret-pass", kms.ErrPermission},
		{"memory raised", reheader(func(h *envelopeHeader) { h.MemoryKiB = 128 }), "s3cret-pass", kms.ErrPermission},
		{"threads changed", reheader(func(h *envelopeHeader) { h.Threads = 2 }), "s3cret-pass", kms.ErrPermission},
		{"time below minimum", reheader(func(h *envelopeHeader) { h.Time = 0 }), "s3cret-pass", kms.ErrInvalidKey},
		{"memory below minimum", reheader(func(h *envelopeHeader) { h.MemoryKiB = 32 }), "s3cret-pass", kms.ErrInvalidKey},
		{"memory beyond bound", reheader(func(h *envelopeHeader) { h.MemoryKiB = 1 << 40 }), "s3cret-pass", kms.ErrInvalidKey},
		{"salt changed", reheader(func(h *envelopeHeader) { h.Salt[0] ^= 1 }), "s3cret-pass", kms.ErrPermission},
		{"nonce changed", reheader(func(h *envelopeHeader) { h.Nonce[0] ^= 1 }), "s3cret-pass", kms.ErrPermission},
		{"version changed", reheader(func(h *envelopeHeader) { h.Version = 2 }), "s3cret-pass", kms.ErrInvalidKey},
		{"unknown KDF", reheader(func(h *envelopeHeader) { h.KDF = "scrypt" }), "s3cret-pass", kms.ErrInvalidKey},
		{"unknown AEAD", reheader(func(h *envelopeHeader) { h.AEAD = "aes-256-gcm" }), "s3cret-pass", kms.ErrInvalidKey},
		{"short nonce", reheader(func(h *envelopeHeader) { h.Nonce = h.Nonce[:12] }), "s3cret-pass", kms.ErrInvalidKey},
		{"ciphertext bit flipped", ciphertext(func(ct []byte) []byte { ct[3] ^= 0x10; return ct }), "s3cret-pass", kms.ErrPermission},
		{"tag bit flipped", ciphertext(func(ct []byte) []byte { ct[len(ct)-1] ^= 1; return ct }), "s3cret-pass", kms.ErrPermission},
		{"ciphertext truncated", ciphertext(func(ct []byte) []byte { return ct[:len(ct)-1] }), "s3cret-pass", kms.ErrPermission},
		{"trailing bytes", rebody(func(b []byte) []byte { return append(b, 0) }), "s3cret-pass", kms.ErrInvalidKey},
		{"not DER", rebody(func(b []byte) []byte { return []byte("garbage") }), "s3cret-pass", kms.ErrInvalidKey},
		{"plain PEM type", []byte(strings.Replace(string(good), EncryptedPEMType, "PRIVATE KEY", 2)), "s3cret-pass", kms.ErrInvalidKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecryptPrivateKeyPEM(tc.file, []byte(tc.pass), min)
			if err == nil {
				t.Fatalf("tampered file accepted (key %d bytes)", len(got))
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			msg := err.Error()
			for _, secret := range []string{string(pass), hex.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(priv.Seed())} {
				if strings.Contains(msg, secret) {
					t.Errorf("error contains a secret: %q", msg)
				}
			}
		})
	}
}

func TestEncryptRejectsBadParams(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	for _, tc := range []struct {
		name   string
		pass   string
		params KDFParams
	}{
		{"empty passphrase", "", KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}},
		{"memory below 8 KiB per thread", "p", KDFParams{Time: 1, MemoryKiB: 8, Threads: 4}},
		{"time beyond bound", "p", KDFParams{Time: 1000, MemoryKiB: 64, Threads: 1}},
		{"memory beyond bound", "p", KDFParams{Time: 1, MemoryKiB: 4 << 20, Threads: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := EncryptPrivateKeyPEM(priv, []byte(tc.pass), tc.params, nil); err == nil {
				t.Error("EncryptPrivateKeyPEM succeeded")
			}
		})
	}
}
