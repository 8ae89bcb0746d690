package sealedkms

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
)

// Scheme is the URI scheme of KMS-sealed keys.
const Scheme = "sealedkms"

// Defaults of Options.
const (
	DefaultRecheckInterval = 30 * time.Second
	DefaultStaleAfter      = 5 * time.Minute
)

// Options configures the backend.
type Options struct {
	// Client is the KMS client (see awskms.NewClient). Required.
	Client *kms.Client
	// KEK is the KMS symmetric key CreateKey seals new keys with, unless the
	// request names one in its "kek" attribute.
	KEK string
	// Environment (e.g. "prod") is bound into every sealed key's encryption
	// context; LoadSigner refuses keys sealed for another environment. Required.
	Environment string
	// Dir is where CreateKey writes sealed key files (created 0700 if missing).
	Dir string
	// RecheckInterval is how long a successful KEK check is trusted; 0 means
	// DefaultRecheckInterval, a negative value checks before every signature.
	RecheckInterval time.Duration
	// StaleAfter is how long signing goes on through throttling or KMS
	// outages after the last successful check; 0 means DefaultStaleAfter.
	StaleAfter time.Duration
	// Retry shapes retries of throttled and failed KMS calls.
	Retry awscall.Policy
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source for new keys; nil means crypto/rand.
	Rand io.Reader
	// Log, if set, receives warnings (never key material); Retry.Log, if
	// set, takes the retries instead.
	Log *slog.Logger
}

// Backend is the KMS-sealed software key backend.
type Backend struct {
	opts   Options
	retry  awscall.Policy
	closed kmsapi.CloseFlag // not guarded by mu

	mu      sync.Mutex
	signers map[*Signer]struct{} // open signers, for CheckHealth
}

var (
	_ kmsapi.KeyCreator    = (*Backend)(nil)
	_ kmsapi.KeyDestroyer  = (*Backend)(nil)
	_ kmsapi.HealthChecker = (*Backend)(nil)
)

// New returns a backend.
func New(opts Options) (*Backend, error) {
	if opts.Client == nil {
		return nil, fmt.Errorf("sealedkms: no KMS client configured")
	}
	if opts.Environment == "" {
		return nil, fmt.Errorf("sealedkms: no environment configured (it is bound into each key's encryption context)")
	}
	if opts.RecheckInterval == 0 {
		opts.RecheckInterval = DefaultRecheckInterval
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	retry := opts.Retry.LogTo(opts.Log)
	return &Backend{opts: opts, retry: retry, signers: map[*Signer]struct{}{}}, nil
}

// Scheme implements kms.Backend.
func (b *Backend) Scheme() string { return Scheme }

// Close implements kms.Backend. Open signers keep working until closed; the
// KMS client belongs to the caller.
func (b *Backend) Close() error { return b.closed.Close() }

func (b *Backend) checkOpen() error { return b.closed.Check(Scheme) }

// keyRef is a parsed sealedkms URI.
type keyRef struct {
	path string
	kek  string // "" means the KEK recorded in the file
}

func parseURI(uri kmsapi.URI) (keyRef, error) {
	if uri.Scheme != Scheme {
		return keyRef{}, fmt.Errorf("%w: scheme %q is not %s", kmsapi.ErrInvalidURI, uri.Scheme, Scheme)
	}
	path, err := uri.Require("path")
	if err != nil {
		return keyRef{}, err
	}
	if !filepath.IsAbs(path) {
		return keyRef{}, fmt.Errorf("%w: sealedkms: path must be absolute", kmsapi.ErrInvalidURI)
	}
	_, rest, _ := strings.Cut(uri.String(), ":")
	for part := range strings.SplitSeq(rest, ";") {
		if name, _, _ := strings.Cut(part, "="); name != "path" && name != "kek" {
			return keyRef{}, fmt.Errorf("%w: sealedkms: unknown attribute %q (want path and optional kek)", kmsapi.ErrInvalidURI, name)
		}
	}
	if uri.Has("kek") && uri.Get("kek") == "" {
		return keyRef{}, fmt.Errorf("%w: sealedkms: empty kek", kmsapi.ErrInvalidURI)
	}
	return keyRef{path: filepath.Clean(path), kek: uri.Get("kek")}, nil
}

func keyURI(path, kek string) kmsapi.URI {
	return kmsapi.NewURI(Scheme, map[string]string{"path": path, "kek": kek})
}
