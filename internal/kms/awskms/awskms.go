package awskms

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
)

// Scheme is the URI scheme of AWS KMS keys.
const Scheme = "awskms"

// MaxMessage is the largest message KMS signs with ED25519_SHA_512.
const MaxMessage = 4096

// Options configures the backend.
type Options struct {
	// Client is the KMS client (see NewClient). Required.
	Client *kms.Client
	// Retry shapes retries of throttled and failed calls.
	Retry awscall.Policy
	// DeletionWindowDays is the waiting period DestroyKey schedules, 7 to 30;
	// 0 means 7, the shortest KMS allows.
	DeletionWindowDays int32
	// Log, if set, receives retry and clean-up warnings (never key
	// material); Retry.Log, if set, takes the retries instead.
	Log *slog.Logger
}

// Backend is the AWS KMS key backend.
type Backend struct {
	client *kms.Client
	retry  awscall.Policy
	opts   Options
	closed kmsapi.CloseFlag // not guarded by mu

	mu     sync.Mutex
	loaded map[string]int // key ARN → open signers, for CheckHealth
}

var (
	_ kmsapi.KeyCreator    = (*Backend)(nil)
	_ kmsapi.KeyDestroyer  = (*Backend)(nil)
	_ kmsapi.HealthChecker = (*Backend)(nil)
)

// New returns a backend using opts.Client.
func New(opts Options) (*Backend, error) {
	if opts.Client == nil {
		return nil, fmt.Errorf("awskms: no KMS client configured")
	}
	if opts.DeletionWindowDays == 0 {
		opts.DeletionWindowDays = 7
	}
	if opts.DeletionWindowDays < 7 || opts.DeletionWindowDays > 30 {
		return nil, fmt.Errorf("awskms: deletion window %d days: KMS allows 7 to 30", opts.DeletionWindowDays)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	retry := opts.Retry.LogTo(opts.Log)
	return &Backend{client: opts.Client, retry: retry, opts: opts, loaded: map[string]int{}}, nil
}

// Scheme implements kms.Backend.
func (b *Backend) Scheme() string { return Scheme }

// Close implements kms.Backend. The KMS client belongs to the caller; after
// Close the backend loads, creates and destroys no more keys.
func (b *Backend) Close() error { return b.closed.Close() }

func (b *Backend) checkOpen() error { return b.closed.Check(Scheme) }

// keyRef is a parsed awskms URI.
type keyRef struct {
	keyID  string
	region string // "" means the client's region
}

func parseURI(uri kmsapi.URI) (keyRef, error) {
	if uri.Scheme != Scheme {
		return keyRef{}, fmt.Errorf("%w: scheme %q is not %s", kmsapi.ErrInvalidURI, uri.Scheme, Scheme)
	}
	id, err := uri.Require("key-id")
	if err != nil {
		return keyRef{}, err
	}
	for _, name := range attrNames(uri) {
		if name != "key-id" && name != "region" {
			return keyRef{}, fmt.Errorf("%w: awskms: unknown attribute %q (want key-id and optional region)", kmsapi.ErrInvalidURI, name)
		}
	}
	ref := keyRef{keyID: id, region: uri.Get("region")}
	if strings.HasPrefix(id, "arn:") {
		a, ok := parseARN(id)
		if !ok {
			return keyRef{}, fmt.Errorf("%w: awskms: key-id is not a KMS key or alias ARN", kmsapi.ErrInvalidURI)
		}
		if ref.region != "" && ref.region != a.region {
			return keyRef{}, fmt.Errorf("%w: awskms: region %q differs from the key ARN's region %q", kmsapi.ErrInvalidURI, ref.region, a.region)
		}
		ref.region = a.region
	}
	return ref, nil
}

// attrNames lists the attributes of uri (URI has no accessor for them).
func attrNames(uri kmsapi.URI) []string {
	_, rest, _ := strings.Cut(uri.String(), ":")
	var names []string
	for part := range strings.SplitSeq(rest, ";") {
		if name, _, ok := strings.Cut(part, "="); ok {
			names = append(names, name)
		}
	}
	return names
}

type arn struct{ region, resource string }

// parseARN splits "arn:<partition>:kms:<region>:<account>:<key/id or alias/name>".
func parseARN(s string) (arn, bool) {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[2] != "kms" || p[3] == "" ||
		!(strings.HasPrefix(p[5], "key/") || strings.HasPrefix(p[5], "alias/")) {
		return arn{}, false
	}
	return arn{region: p[3], resource: p[5]}, true
}

// callOpts are the per-call SDK options: no SDK retries (awscall retries)
// and the key's region when it is known.
func callOpts(region string) []func(*kms.Options) {
	opts := []func(*kms.Options){awscall.NoSDKRetry}
	if region != "" {
		opts = append(opts, func(o *kms.Options) { o.Region = region })
	}
	return opts
}

func (b *Backend) track(keyARN string, delta int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.loaded[keyARN] += delta; b.loaded[keyARN] <= 0 {
		delete(b.loaded, keyARN)
	}
}
