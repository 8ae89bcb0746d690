package limits

import (
	"errors"
	"fmt"
	"maps"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// ErrInvalidConfig means a Config value is out of range.
var ErrInvalidConfig = errors.New("limits: invalid config")

// Config sets every limit. Zero fields take the value of DefaultConfig; the
// YAML tags let it be a section of the service's configuration file
// (durations as "30s", "10m").
type Config struct {
	// Rate is the sustained number of calls per second one identity may
	// start; Burst is how many it may start at once after being idle.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
	// MaxConcurrentPerIdentity caps the calls one identity has in flight.
	MaxConcurrentPerIdentity int `yaml:"max_concurrent_per_identity"`
	// MaxInFlight caps the calls in flight across all callers.
	MaxInFlight int `yaml:"max_in_flight"`
	// DefaultTimeout is the deadline of a call whose caller set none;
	// MaxTimeout shortens longer deadlines. Methods overrides both per full
	// method name (archive uploads need longer than ledger reads).
	DefaultTimeout time.Duration      `yaml:"default_timeout"`
	MaxTimeout     time.Duration      `yaml:"max_timeout"`
	Methods        map[string]Timeout `yaml:"methods"`
	// LongLived lists methods whose calls count toward the rate limit but
	// not the concurrency caps: watch streams that stay open for their
	// whole deadline would otherwise hold slots meant for work.
	LongLived []string `yaml:"long_lived"`
	// MaxMessageSize bounds one gRPC message in bytes (an archive chunk).
	MaxMessageSize int `yaml:"max_message_size"`
	// MaxArchiveSize bounds a whole archive in bytes. The signing handler
	// enforces it (pass it to server.Config.MaxArchiveSize); it is here so
	// that every limit is configured in one place.
	MaxArchiveSize int64 `yaml:"max_archive_size"`
	// MaxStreamsPerConnection caps concurrent streams on one HTTP/2 connection.
	MaxStreamsPerConnection uint32 `yaml:"max_streams_per_connection"`
	// HandshakeTimeout bounds the TLS handshake of a new connection.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
}

// Timeout is the default and maximum deadline of one method.
type Timeout struct {
	Default time.Duration `yaml:"default"`
	Max     time.Duration `yaml:"max"`
}

// DefaultConfig returns the limits used where a Config leaves zeros.
func DefaultConfig() Config {
	return Config{
		Rate:                     20,
		Burst:                    40,
		MaxConcurrentPerIdentity: 8,
		MaxInFlight:              128,
		DefaultTimeout:           30 * time.Second,
		MaxTimeout:               2 * time.Minute,
		Methods: map[string]Timeout{
			// 512 MiB at 1 MB/s takes about 9 minutes.
			signerv1.SignerService_SignArchive_FullMethodName: {Default: 15 * time.Minute, Max: 30 * time.Minute},
			// Watchers reconnect when the deadline ends their stream.
			healthpb.Health_Watch_FullMethodName: {Default: 10 * time.Minute, Max: time.Hour},
		},
		LongLived:               []string{healthpb.Health_Watch_FullMethodName},
		MaxMessageSize:          4<<20 + 64<<10,
		MaxArchiveSize:          512 << 20,
		MaxStreamsPerConnection: 64,
		HandshakeTimeout:        10 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultConfig and validates.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	setDefault(&c.Rate, d.Rate)
	setDefault(&c.Burst, d.Burst)
	setDefault(&c.MaxConcurrentPerIdentity, d.MaxConcurrentPerIdentity)
	setDefault(&c.MaxInFlight, d.MaxInFlight)
	setDefault(&c.DefaultTimeout, d.DefaultTimeout)
	setDefault(&c.MaxTimeout, d.MaxTimeout)
	setDefault(&c.MaxMessageSize, d.MaxMessageSize)
	setDefault(&c.MaxArchiveSize, d.MaxArchiveSize)
	setDefault(&c.MaxStreamsPerConnection, d.MaxStreamsPerConnection)
	setDefault(&c.HandshakeTimeout, d.HandshakeTimeout)
	if c.LongLived == nil {
		c.LongLived = d.LongLived
	}
	methods := d.Methods
	maps.Copy(methods, c.Methods)
	c.Methods = methods

	switch {
	case c.Rate < 0 || c.Burst < 1:
		return c, fmt.Errorf("%w: rate must be positive and burst at least 1", ErrInvalidConfig)
	case c.MaxConcurrentPerIdentity < 1 || c.MaxInFlight < 1:
		return c, fmt.Errorf("%w: concurrency caps must be at least 1", ErrInvalidConfig)
	case c.MaxConcurrentPerIdentity > c.MaxInFlight:
		return c, fmt.Errorf("%w: max_concurrent_per_identity %d exceeds max_in_flight %d", ErrInvalidConfig, c.MaxConcurrentPerIdentity, c.MaxInFlight)
	case c.DefaultTimeout < 0 || c.MaxTimeout < c.DefaultTimeout:
		return c, fmt.Errorf("%w: need 0 < default_timeout <= max_timeout", ErrInvalidConfig)
	case c.MaxMessageSize < 1 || c.MaxArchiveSize < 1 || c.HandshakeTimeout < 0:
		return c, fmt.Errorf("%w: sizes and handshake_timeout must be positive", ErrInvalidConfig)
	}
	for m, t := range c.Methods {
		if t.Default <= 0 || t.Max < t.Default {
			return c, fmt.Errorf("%w: methods[%s]: need 0 < default <= max", ErrInvalidConfig, m)
		}
	}
	return c, nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// timeout returns the deadlines of method.
func (c Config) timeout(method string) Timeout {
	if t, ok := c.Methods[method]; ok {
		return t
	}
	return Timeout{Default: c.DefaultTimeout, Max: c.MaxTimeout}
}
