package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/limits"
)

// Config is the whole `signer serve` configuration.
type Config struct {
	// Listen is the gRPC address. Non-loopback addresses require TLS.
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
	// Database names where the ledger's URL comes from.
	Database Database `yaml:"database"`
	// SpoolDir holds archives while they are signed.
	SpoolDir string `yaml:"spool_dir"`
	// MaxArchiveSize is the largest archive accepted, in bytes.
	MaxArchiveSize int64    `yaml:"max_archive_size"`
	Backends       Backends `yaml:"backends"`
	Keys           Keys     `yaml:"keys"`
	Trust          Trust    `yaml:"trust"`
	Auth           Auth     `yaml:"auth"`
	// Limits are the per-identity rate and concurrency caps and deadlines;
	// empty fields take limits.DefaultConfig. Its max_archive_size is ignored:
	// the top-level max_archive_size is the one limit.
	Limits  limits.Config `yaml:"limits"`
	Metrics Metrics       `yaml:"metrics"`
	Log     Log           `yaml:"log"`
	// Ledger configures the tamper-evident log; its key is keys.ledger.
	Ledger Ledger `yaml:"ledger"`
	// ShutdownGrace bounds how long in-flight calls may finish on shutdown.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
}

// TLS is the server's certificate and the CA that issues client certificates.
type TLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether any TLS file is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.ClientCAFile != "" }

// Database says where to read the PostgreSQL URL: from the environment
// variable URLEnv (default DATABASE_URL) or from URLFile (mode 0600).
type Database struct {
	URLEnv  string `yaml:"url_env"`
	URLFile string `yaml:"url_file"`
	// MaxConns is the connection pool size, unless the URL sets
	// pool_max_conns; default DefaultMaxConns. Each in-flight signing
	// request holds a connection while its ledger entry commits.
	MaxConns int `yaml:"max_conns"`
	// DevSetup lets the service connect as a superuser or as the owner of
	// the ledger's tables, which can switch off or bypass the append-only
	// triggers. Development and tests only; production runs as the service
	// role `signer db roles` creates.
	DevSetup bool `yaml:"dev_setup"`
	// RequireSynchronousStandby makes `signer serve` warn at start when the
	// database does not wait for a synchronous standby before acknowledging
	// a commit: a failover could then lose signatures clients hold (see
	// docs/operations.md, PostgreSQL high availability).
	RequireSynchronousStandby bool `yaml:"require_synchronous_standby"`
}

// DefaultMaxConns is database.max_conns when none is configured: pgx's own
// default (max(4, CPUs)) caps throughput far below what one replica does.
const DefaultMaxConns = 32

// Backends configures the key backends that may hold keys. A nil section
// means the backend is not registered.
type Backends struct {
	Soft   *SoftBackend   `yaml:"softkms"`
	Sealed *SealedBackend `yaml:"sealedkms"`
	AWS    *AWSBackend    `yaml:"awskms"`
	PKCS11 *PKCS11Backend `yaml:"pkcs11"`
}

// SoftBackend is the software backend: PKCS#8 files, optionally passphrase-sealed.
type SoftBackend struct {
	Dir            string `yaml:"dir"`
	PassphraseFile string `yaml:"passphrase_file"`
	PassphraseEnv  string `yaml:"passphrase_env"`
}

// AWSBackend is the AWS KMS client configuration shared by awskms and sealedkms.
type AWSBackend struct {
	Region string `yaml:"region"`
	// Endpoint overrides the KMS endpoint (VPC endpoint, or a local emulator in development).
	Endpoint string `yaml:"endpoint"`
	Profile  string `yaml:"profile"`
}

// SealedBackend is the KMS-sealed software key backend.
type SealedBackend struct {
	AWSBackend      `yaml:",inline"`
	KEK             string   `yaml:"kek"`
	Environment     string   `yaml:"environment"`
	Dir             string   `yaml:"dir"`
	RecheckInterval Duration `yaml:"recheck_interval"`
}

// PKCS11Backend is the HSM backend.
type PKCS11Backend struct {
	Module     string `yaml:"module"`
	Token      string `yaml:"token"`
	PINFile    string `yaml:"pin_file"`
	PINEnv     string `yaml:"pin_env"`
	PoolSize   int    `yaml:"pool_size"`
	MaxMessage int64  `yaml:"max_message"`
}

// Keys chooses a key per role, so an operator can keep the CA in KMS and
// archive signing in an HSM or a KMS-sealed key.
type Keys struct {
	// ArchiveSigning names the keystore key that signs archives.
	ArchiveSigning string `yaml:"archive_signing"`
	// ArchiveSigningBackend is the backend scheme in which the first start
	// creates ArchiveSigning if the key store has no such key yet; empty
	// means the key must already exist.
	ArchiveSigningBackend string `yaml:"archive_signing_backend"`
	// SigningCertValidity is the validity of signing certificates the CA
	// issues on create and rotate (capped at the CA's own); default 365 days.
	SigningCertValidity Duration `yaml:"signing_cert_validity"`
	// CA is the intermediate CA that issues signing certificates on rotation.
	CA CAKey `yaml:"ca"`
	// Ledger is the key that signs ledger checkpoints: the name of a
	// keystore key (role ledger) or a key URI ("awskms:key-id=…",
	// "pkcs11:token=…;object=…"). Empty: no checkpoints are signed (an
	// append-only replica; another replica must sign).
	Ledger string `yaml:"ledger"`
	// LedgerBackend is the backend scheme in which the first start creates
	// the keystore key Ledger names if it does not exist yet; empty means
	// it must already exist. Unused when Ledger is a key URI.
	LedgerBackend string `yaml:"ledger_backend"`
}

// Ledger configures the tamper-evident log (docs/ledger.md).
type Ledger struct {
	// Origin names the log in its checkpoints and is the note name of the
	// ledger key, e.g. "signer.example.com/ledger"; no spaces or '+'.
	// Every replica and every auditor must use the same one.
	Origin string `yaml:"origin"`
	// PublishInterval is how often a checkpoint is signed when nothing was
	// appended by this replica (appends are followed by one within
	// a quarter second); default 10s.
	PublishInterval Duration `yaml:"publish_interval"`
	// CheckpointDir is a directory, outside the database administrator's
	// control, to which every signed checkpoint is written
	// (checkpoints/<size> and latest) before it is stored; the service
	// refuses to sign a tree that does not extend the latest one there
	// (docs/ledger.md). Absolute path; required with keys.ledger.
	CheckpointDir string `yaml:"checkpoint_dir"`
	// Witnesses are optional C2SP tlog-witness witnesses that cosign every
	// checkpoint before it is published (cosigned/<size> in CheckpointDir).
	// One that refuses a checkpoint as inconsistent stops checkpoint
	// signing like a diverged log; one that is down is reported and skipped.
	Witnesses []Witness `yaml:"witnesses"`
}

// Witness is a C2SP tlog-witness: its URL prefix (add-checkpoint is
// POSTed below it; https, or http on loopback) and its cosignature/v1
// verifier key ("<name>+<hash>+<base64>").
type Witness struct {
	URL string `yaml:"url"`
	Key string `yaml:"key"`
}

// DefaultLedgerOrigin is ledger.origin when none is configured.
const DefaultLedgerOrigin = "appsign.local/ledger"

// CAKey is an issuing CA: its key URI and its certificate file.
type CAKey struct {
	URI         string `yaml:"uri"`
	Certificate string `yaml:"certificate"`
}

// Trust lists the CA certificate files published in trust bundles, and
// the keys TrustService uses to revoke (docs/trust.md).
type Trust struct {
	Roots         []string `yaml:"roots"`
	Intermediates []string `yaml:"intermediates"`
	// Revocation enables TrustService (revocation, signed revocation lists,
	// CRLs, private-build certificates). Without it the service is not
	// offered and revocation is refused.
	Revocation *Revocation `yaml:"revocation"`
}

// Revocation names the keys TrustService signs with.
type Revocation struct {
	// Issuer names the revocation list's publisher, e.g. "appsign marketplace".
	Issuer string `yaml:"issuer"`
	// ListSigner signs revocation lists: a key with a revocation-signing
	// certificate issued by a root in trust.roots (or the root itself).
	ListSigner CAKey `yaml:"list_signer"`
	// CAs are the CAs whose CRLs the service issues; one named
	// "private-build" also issues vendor certificates.
	CAs []NamedCA `yaml:"cas"`
}

// NamedCA is a CA key TrustService may use, under the name requests give it
// ("root", "marketplace", "private-build").
type NamedCA struct {
	Name        string `yaml:"name"`
	URI         string `yaml:"uri"`
	Certificate string `yaml:"certificate"`
}

// Auth points at the authorization policy file.
type Auth struct {
	PolicyFile string `yaml:"policy_file"`
	// Policy, if set, is used instead of PolicyFile: a policy made in
	// code (`signer dev`'s, auth.DevPolicy). A file cannot set it.
	Policy *auth.Policy `yaml:"-"`
}

// Metrics is the operations listener: Prometheus /metrics and the
// /livez and /readyz probes. Empty Listen disables it.
type Metrics struct {
	Listen string `yaml:"listen"`
	// TLS serves HTTPS with the server certificate of the tls section;
	// required when Listen is not a loopback address. /metrics then needs a
	// client certificate from tls.client_ca_file whose SPIFFE ID is one of
	// Scrapers; the probes need none.
	TLS bool `yaml:"tls"`
	// Scrapers are the SPIFFE IDs (client certificate URI SANs) that may
	// read /metrics over TLS, e.g. spiffe://appsign/ops/prometheus.
	Scrapers []string `yaml:"scrapers"`
}

// Log configures structured logging.
type Log struct {
	Level string `yaml:"level"`
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 30s, 5m)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// Defaults applied when a field is empty.
const (
	DefaultMaxArchiveSize = 512 << 20
	DefaultShutdownGrace  = Duration(30 * time.Second)
	maxConfigSize         = 1 << 20
)

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Parse(io.LimitReader(f, maxConfigSize))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// LoadBackends reads the file at path as strictly as Load but validates
// only its backends section: offline tools (`signerctl ca`) open keys with
// the service's own file, or with a ceremony file that holds nothing else.
func LoadBackends(path string) (Backends, error) {
	f, err := os.Open(path)
	if err != nil {
		return Backends{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := decode(io.LimitReader(f, maxConfigSize))
	if err == nil {
		err = c.Backends.validate()
	}
	if err != nil {
		return Backends{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c.Backends, nil
}

// Parse reads a configuration strictly, applies defaults and validates it.
func Parse(r io.Reader) (*Config, error) {
	c, err := decode(r)
	if err != nil {
		return nil, err
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decode reads a configuration strictly: unknown fields are errors.
func decode(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty configuration")
		}
		return nil, err
	}
	return &c, nil
}

// ApplyDefaults fills the empty fields with their defaults; Load and Parse
// apply them, a configuration made in code (signer dev) calls it itself.
func (c *Config) ApplyDefaults() {
	if c.MaxArchiveSize == 0 {
		c.MaxArchiveSize = DefaultMaxArchiveSize
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.Database.URLEnv == "" && c.Database.URLFile == "" {
		c.Database.URLEnv = "DATABASE_URL"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	c.Limits.MaxArchiveSize = c.MaxArchiveSize
	if c.Keys.SigningCertValidity == 0 {
		c.Keys.SigningCertValidity = Duration(365 * 24 * time.Hour)
	}
	if c.SpoolDir == "" {
		c.SpoolDir = os.TempDir()
	}
	if c.Ledger.Origin == "" {
		c.Ledger.Origin = DefaultLedgerOrigin
	}
	if c.Database.MaxConns == 0 {
		c.Database.MaxConns = DefaultMaxConns
	}
	if c.Ledger.PublishInterval == 0 {
		c.Ledger.PublishInterval = Duration(10 * time.Second)
	}
}

// Schemes returns the schemes of the configured backends, in a fixed order.
func (b Backends) Schemes() []string {
	var out []string
	if b.Soft != nil {
		out = append(out, "softkms")
	}
	if b.Sealed != nil {
		out = append(out, "sealedkms")
	}
	if b.AWS != nil {
		out = append(out, "awskms")
	}
	if b.PKCS11 != nil {
		out = append(out, "pkcs11")
	}
	return out
}
