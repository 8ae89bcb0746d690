package service

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/transport"
)

// Development instance (`signer dev`) names, under its data directory.
const (
	// DevKeyName is the archive-signing key of `signer dev`.
	DevKeyName = "dev-signing"
	// DevCheckpointDir is where `signer dev` publishes checkpoints, under
	// its data dir (ledger.checkpoint_dir in production).
	DevCheckpointDir = "published-checkpoints"
	// DevLedgerOrigin is the log origin of `signer dev`.
	DevLedgerOrigin = "appsign.dev/ledger"
)

// DevOptions are the settings `signer dev` takes as flags.
type DevOptions struct {
	DataDir        string
	Listen         string
	DatabaseURL    string
	MaxArchiveSize int64
	LogLevel       string
	MetricsListen  string
	Profiling      bool
	DBMaxConns     int
	ShutdownGrace  time.Duration
	KeyPoll        time.Duration
	KeyPollOnly    bool
	Witnesses      []config.Witness
}

// DevConfig makes the configuration of a development instance and the
// files it names, once, under o.DataDir (an absolute path): the dev PKI
// (chain.EnsureDevPKI) and trust material (EnsureDevTrust), a software
// ledger key, the spool and checkpoint directories. The instance serves
// plaintext on loopback with auth.DevPolicy (one loopback identity holds
// every role, so the two-person rule is waived), signs with the dev
// signing key imported as DevKeyName (rotations issued by the dev
// intermediate CA), and has limits generous enough for load tests.
func DevConfig(rand io.Reader, o DevOptions, now time.Time) (Config, error) {
	if !filepath.IsAbs(o.DataDir) {
		return Config{}, fmt.Errorf("%w: data dir %q: want an absolute path", ErrConfig, o.DataDir)
	}
	if err := transport.RequireLoopback(o.Listen); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	spoolDir, checkpointDir := filepath.Join(o.DataDir, "spool"), filepath.Join(o.DataDir, DevCheckpointDir)
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return Config{}, fmt.Errorf("create spool dir: %w", err)
	}
	pki, err := chain.EnsureDevPKI(rand, o.DataDir, now)
	if err != nil {
		return Config{}, err
	}
	trust, err := EnsureDevTrust(rand, o.DataDir, pki, now)
	if err != nil {
		return Config{}, err
	}
	ledgerKey, err := ensureDevLedgerKey(rand, o.DataDir)
	if err != nil {
		return Config{}, err
	}
	keysDir := filepath.Join(o.DataDir, "keys")
	policy := auth.DevPolicy()
	cfg := Config{
		File: config.Config{
			Listen:         o.Listen,
			Database:       config.Database{MaxConns: o.DBMaxConns, DevSetup: true},
			SpoolDir:       spoolDir,
			MaxArchiveSize: o.MaxArchiveSize,
			Backends:       config.Backends{Soft: &config.SoftBackend{Dir: keysDir}},
			Keys: config.Keys{
				ArchiveSigning:      DevKeyName,
				SigningCertValidity: config.Duration(chain.DevSigningValidity),
				CA:                  config.CAKey{URI: softURI(filepath.Join(keysDir, "marketplace-ca.key")), Certificate: pki.IntermediateCertPath},
				Ledger:              softURI(ledgerKey),
			},
			Trust: config.Trust{
				Roots:         []string{pki.RootCertPath},
				Intermediates: []string{pki.IntermediateCertPath, trust.PrivateBuild.CertPath},
				Revocation:    &trust.Revocation,
			},
			Auth:          config.Auth{Policy: policy},
			Limits:        devLimits(o.MaxArchiveSize),
			Metrics:       config.Metrics{Listen: o.MetricsListen},
			Log:           config.Log{Level: o.LogLevel},
			Ledger:        config.Ledger{Origin: DevLedgerOrigin, CheckpointDir: checkpointDir, Witnesses: o.Witnesses, PublishInterval: config.Duration(10 * time.Second)},
			ShutdownGrace: config.Duration(o.ShutdownGrace),
		},
		DatabaseURL:    o.DatabaseURL,
		SingleOperator: true,
		Import: &KeyImport{
			Name: DevKeyName,
			URI:  kms.NewURI(softkms.Scheme, map[string]string{"path": pki.SigningKeyPath}),
			Cert: pki.Signing,
		},
		Actor:       "signer dev",
		KeyPoll:     o.KeyPoll,
		KeyPollOnly: o.KeyPollOnly,
		Profiling:   o.Profiling,
	}
	return cfg, cfg.Validate()
}

// ensureDevLedgerKey creates the dev ledger key (a software Ed25519 key)
// under the data dir on first start and returns its path. It is not in the
// key store: dev's key list shows the signing key only.
func ensureDevLedgerKey(rand io.Reader, dataDir string) (string, error) {
	path := filepath.Join(dataDir, "keys", "ledger.key")
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return path, err
	}
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := softkms.WriteKeyFile(path, priv); err != nil {
		return "", fmt.Errorf("create dev ledger key: %w", err)
	}
	return path, nil
}

// devLimits are generous: a developer's load tests should measure the
// service, not trip the per-identity limits meant for production callers.
func devLimits(maxArchive int64) limits.Config {
	c := limits.DefaultConfig()
	c.Rate, c.Burst = 100000, 100000
	c.MaxConcurrentPerIdentity, c.MaxInFlight = 512, 1024
	c.MaxArchiveSize = maxArchive
	return c
}
