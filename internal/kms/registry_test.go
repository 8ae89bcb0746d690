package kms_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
)

func TestLimitsCanSign(t *testing.T) {
	tests := []struct {
		name   string
		limits kms.Limits
		size   int64
		want   bool
	}{
		{"streaming key, any size", kms.Limits{MaxMessage: 4096, Streams: true}, 1 << 40, true},
		{"unlimited key, any size", kms.Limits{MaxMessage: kms.Unlimited}, 1 << 40, true},
		{"KMS key at its limit", kms.Limits{MaxMessage: 4096}, 4096, true},
		{"KMS key one byte over", kms.Limits{MaxMessage: 4096}, 4097, false},
		{"KMS key, archive", kms.Limits{MaxMessage: 4096, Prehash: true}, 200 << 20, false},
		{"zero limit, empty message", kms.Limits{}, 0, true},
		{"zero limit, one byte", kms.Limits{}, 1, false},
		{"one-byte limit, two bytes", kms.Limits{MaxMessage: 1}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.limits.CanSign(tt.size); got != tt.want {
				t.Errorf("%+v.CanSign(%d) = %v, want %v", tt.limits, tt.size, got, tt.want)
			}
		})
	}
}

// faultyBackend is a key backend under its own scheme whose
// signers corrupt their signatures and whose health check fails on demand:
// the faults the registry must pass on or catch.
type faultyBackend struct {
	scheme    string
	unhealthy error
}

func (b *faultyBackend) Scheme() string { return b.scheme }
func (b *faultyBackend) Close() error   { return nil }

func (b *faultyBackend) LoadSigner(_ context.Context, uri kms.URI) (kms.Signer, error) {
	if uri.Get("key") != "k1" {
		return nil, kms.ErrKeyNotFound
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &faultySigner{priv: priv, sign: faults[0].f}, nil // pure signatures only: no *testing.T needed
}

func (b *faultyBackend) CheckHealth(context.Context) error { return b.unhealthy }

func TestRegistry(t *testing.T) {
	soft := softkms.New(softkms.Options{Dir: t.TempDir()})
	uri, err := soft.CreateKey(t.Context(), kms.CreateKeyRequest{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	faulty := &faultyBackend{scheme: "faulty", unhealthy: errors.New("device unplugged")}

	if _, err := kms.NewRegistry(soft, softkms.New(softkms.Options{Dir: t.TempDir()})); err == nil {
		t.Error("NewRegistry accepted two backends for one scheme")
	}
	r, err := kms.NewRegistry(soft, faulty)
	if err != nil {
		t.Fatal(err)
	}
	var faultURIs []string
	r.OnFault = func(u kms.URI) { faultURIs = append(faultURIs, u.String()) }

	if got, want := r.Schemes(), []string{"faulty", softkms.Scheme}; !slices.Equal(got, want) {
		t.Errorf("Schemes = %q, want %q", got, want)
	}

	tests := []struct {
		name    string
		uri     kms.URI
		wantErr error
	}{
		{"unknown scheme", kms.NewURI("nokms", map[string]string{"key": "k"}), kms.ErrUnknownBackend},
		{"backend error passes through", kms.NewURI("faulty", map[string]string{"key": "missing"}), kms.ErrKeyNotFound},
		{"software key", uri, nil},
		{"faulty key", faultyURI, kms.ErrBackendFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			faultURIs = nil
			s, err := r.LoadSigner(t.Context(), tt.uri)
			if tt.name == "unknown scheme" || tt.name == "backend error passes through" {
				if !errors.Is(err, tt.wantErr) || s != nil {
					t.Fatalf("LoadSigner = %v, %v; want %v", s, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadSigner: %v", err)
			}
			if !kms.SignaturesVerified(s) {
				t.Error("the registry returned a signer that does not verify its signatures")
			}
			sig, err := s.SignMessage(t.Context(), []byte("m"))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr != nil && sig != nil) {
				t.Fatalf("SignMessage = %x, %v; want %v", sig, err, tt.wantErr)
			}
			if tt.wantErr != nil && !slices.Equal(faultURIs, []string{faultyURI.String()}) {
				t.Errorf("OnFault got %q, want the faulty key's URI once", faultURIs)
			}
		})
	}

	err = r.CheckHealth(t.Context())
	if err == nil || !strings.Contains(err.Error(), "faulty: device unplugged") {
		t.Errorf("CheckHealth = %v, want the faulty backend's error named by scheme", err)
	}
	faulty.unhealthy = nil
	if err := r.CheckHealth(t.Context()); err != nil {
		t.Errorf("CheckHealth with healthy backends = %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestMustParseURI(t *testing.T) {
	if u := kms.MustParseURI("softkms:name=a"); u.Scheme != "softkms" || u.Get("name") != "a" {
		t.Errorf("MustParseURI = %v", u)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParseURI of an invalid URI did not panic")
		}
	}()
	kms.MustParseURI("not a uri")
}
