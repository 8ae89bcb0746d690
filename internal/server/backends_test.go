package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awssdkkms "github.com/aws/aws-sdk-go-v2/service/kms"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms/softhsmtest"
	"github.com/appsign/signer/internal/kms/sealedkms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
	"github.com/appsign/signer/internal/server"
)

// backendKey creates a key in backend b, loads it through a registry (so
// every signature is verified in software) and issues its signing
// certificate from the dev intermediate CA.
func backendKey(t *testing.T, b kms.Backend, pki *chain.DevPKI, pkiDir, id string) *server.SigningKey {
	t.Helper()
	uri, err := b.(kms.KeyCreator).CreateKey(t.Context(), kms.CreateKeyRequest{Name: "signing-" + strings.ToLower(id), Purpose: "archive-signing"})
	if err != nil {
		t.Fatalf("%s: create key: %v", id, err)
	}
	reg, err := kms.NewRegistry(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reg.LoadSigner(t.Context(), uri)
	if err != nil {
		t.Fatalf("%s: load: %v", id, err)
	}
	caKey, err := softkms.ReadKeyFile(filepath.Join(pkiDir, "keys", "marketplace-ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := chain.NewSigningCertificate(rand.Reader, pki.Intermediate, caKey, s.Public(), "signer test "+id, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &server.SigningKey{ID: id, Version: 1, Signer: s, Cert: cert}
}

func kmsClient(t *testing.T) *awssdkkms.Client {
	_, c := emutest.Start(t, kmsemu.Options{})
	return c
}

// TestSignArchiveWithEveryBackend signs through the service with a key in
// each backend. Backends that can pure-sign whole archives (software,
// KMS-sealed, PKCS#11) sign a 3 MiB archive; AWS KMS, which pure-signs at
// most 4096 bytes, signs a small one and refuses the large one with
// FailedPrecondition — never a silent Ed25519ph.
func TestSignArchiveWithEveryBackend(t *testing.T) {
	big := bytes.Repeat([]byte{0x5a, 0x01, 0x77}, 1<<20)
	small := []byte("a tiny archive of a few bytes")
	tests := []struct {
		name       string
		backend    func(t *testing.T) kms.Backend
		bigRefused bool
	}{
		{"softkms", func(t *testing.T) kms.Backend { return softkms.New(softkms.Options{Dir: t.TempDir()}) }, false},
		{"sealedkms", func(t *testing.T) kms.Backend {
			c := kmsClient(t)
			out, err := c.CreateKey(t.Context(), &awssdkkms.CreateKeyInput{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := sealedkms.New(sealedkms.Options{Client: c, KEK: *out.KeyMetadata.Arn, Environment: "test", Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, false},
		{"pkcs11", func(t *testing.T) kms.Backend {
			opts, cleanup := softhsmtest.NewToken(t)
			t.Cleanup(cleanup)
			b, err := pkcs11kms.New(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, false},
		{"awskms", func(t *testing.T) kms.Backend {
			b, err := awskms.New(awskms.Options{Client: kmsClient(t)})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWithKey(t, 0, nil, func(t *testing.T, pki *chain.DevPKI, dir string) *server.SigningKey {
				return backendKey(t, tt.backend(t), pki, dir, tt.name)
			})
			for _, c := range []struct {
				name    string
				archive []byte
				refused bool
			}{{"small", small, false}, {"3MiB", big, tt.bigRefused}} {
				resp, err := e.send(t, meta("com.example."+tt.name, "1.0.0", c.name), chunk(c.archive))
				if c.refused {
					st := status.Convert(err)
					if st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "cannot pure-sign") {
						t.Fatalf("%s: got %v %q, want FailedPrecondition naming the limit", c.name, st.Code(), st.Message())
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if resp.GetKeyId() != tt.name {
					t.Fatalf("signed with key %q", resp.GetKeyId())
				}
				sf, err := chain.ParseSignatureFile(resp.GetSignatureFile())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.trust.Verify(t.Context(), sf, bytes.NewReader(c.archive), time.Now()); err != nil {
					t.Fatalf("%s: signature from %s does not verify: %v", c.name, tt.name, err)
				}
				cert, _ := chain.ParseCertificatePEM(sf.Certificate)
				if !ed25519.Verify(cert.PublicKey.(ed25519.PublicKey), c.archive, resp.GetSignature()) {
					t.Fatalf("%s: not a pure Ed25519 signature", c.name)
				}
			}
			if n := e.rows(t); n != 1+btoi(!tt.bigRefused) {
				t.Fatalf("ledger has %d rows", n)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
