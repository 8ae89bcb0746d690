package service

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/transport"
)

// ErrConfig marks a configuration Build refuses before it opens anything:
// the caller's mistake (exit status 2 in cmd/signer), not an outage.
var ErrConfig = errors.New("service: invalid configuration")

// DefaultKeyPoll is how often keys changed by other replicas are reloaded
// when Config.KeyPoll is zero (LISTEN/NOTIFY brings most changes sooner).
const DefaultKeyPoll = 30 * time.Second

// Config is a whole service: the file configuration (`signer serve` reads
// it from YAML, `signer dev` makes one, see DevConfig) and what only the
// command that starts the service knows.
type Config struct {
	// File is the service configuration. Build applies its defaults and
	// validates it like a file read by config.Load.
	File config.Config
	// DatabaseURL, if set, is the ledger's database, instead of the
	// environment variable or file File.Database names.
	DatabaseURL string
	// SingleOperator waives the two-person rule: for `signer dev` only,
	// where one loopback identity holds every role, so no second person
	// could approve. Refused unless the service listens in plaintext on
	// loopback.
	SingleOperator bool
	// Import, if set, is imported into the key store at start (the dev
	// signing key); a revoked import is logged and the key's active
	// version signs.
	Import *KeyImport
	// Actor names the service in the ledger events it writes itself
	// (the CA certificates it starts with); default "signer serve".
	Actor string
	// KeyPoll is how often keys changed by other replicas are reloaded
	// (default DefaultKeyPoll); KeyPollOnly turns off the immediate reload
	// on PostgreSQL NOTIFY (for a proxy that cannot LISTEN).
	KeyPoll     time.Duration
	KeyPollOnly bool
	// Profiling serves Go's /debug/pprof/ on the operations listener
	// (metrics.listen).
	Profiling bool
	// Stdout receives the lines meant for the person who started the
	// service (where the operations listener is, shutdown progress);
	// LogOutput receives the JSON log at File.Log.Level. Nil discards.
	Stdout    io.Writer
	LogOutput io.Writer
}

// KeyImport is an archive-signing key that exists outside the key store
// (a file of the dev PKI), imported under Name with its certificate.
type KeyImport struct {
	Name string
	URI  kms.URI
	Cert *x509.Certificate
}

// Validate applies the file configuration's defaults and returns every
// problem found, each wrapping ErrConfig.
func (c *Config) Validate() error {
	c.File.ApplyDefaults()
	var errs []error
	if err := c.File.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.SingleOperator {
		loopback, err := transport.IsLoopback(c.File.Listen)
		if err != nil || !loopback || c.File.TLS.Enabled() {
			errs = append(errs, fmt.Errorf("single operator (the two-person rule waived) is for a plaintext loopback listener only, not %q", c.File.Listen))
		}
	}
	if i := c.Import; i != nil && (i.Name == "" || i.URI.Scheme == "" || i.Cert == nil) {
		errs = append(errs, errors.New("import: a key to import needs a name, a key URI and its certificate"))
	}
	if c.KeyPoll < 0 {
		errs = append(errs, errors.New("key poll: must be positive"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}
