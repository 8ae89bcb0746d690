package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/transport"
)

// Validate checks the configuration and returns every problem found, each
// naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Listen == "" {
		bad("listen", "required (host:port)")
	} else if loopback, err := transport.IsLoopback(c.Listen); err != nil {
		bad("listen", "%v", err)
	} else if !loopback && (c.TLS.CertFile == "" || c.TLS.KeyFile == "" || c.TLS.ClientCAFile == "") {
		bad("tls", "cert_file, key_file and client_ca_file are required when listen (%s) is not a loopback address: plaintext and unauthenticated callers are refused off loopback", c.Listen)
	}
	if c.TLS.Enabled() && (c.TLS.CertFile == "" || c.TLS.KeyFile == "" || c.TLS.ClientCAFile == "") {
		bad("tls", "set all of cert_file, key_file and client_ca_file (mutual TLS)")
	}
	if c.MaxArchiveSize < 0 {
		bad("max_archive_size", "must be positive")
	}
	if c.Database.URLEnv != "" && c.Database.URLFile != "" {
		bad("database", "set url_env or url_file, not both")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		bad("log.level", "%q: use debug, info, warn or error", c.Log.Level)
	}
	if err := c.Backends.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Keys.ArchiveSigning == "" {
		bad("keys.archive_signing", "required: the name of the key that signs archives")
	}
	if s := c.Keys.ArchiveSigningBackend; s != "" && !c.backendConfigured(s) {
		bad("keys.archive_signing_backend", "backend %q is not configured under backends", s)
	}
	if s := c.Keys.ArchiveSigningBackend; s != "" && c.Keys.CA.URI == "" {
		bad("keys.ca", "an issuing CA (uri and certificate) is needed to create %q on first start", c.Keys.ArchiveSigning)
	}
	if c.Keys.CA.URI != "" {
		u, err := kms.ParseURI(c.Keys.CA.URI)
		if err != nil {
			bad("keys.ca.uri", "%v", err)
		} else if !c.backendConfigured(u.Scheme) {
			bad("keys.ca.uri", "backend %q is not configured under backends", u.Scheme)
		}
		requireAbs(bad, "keys.ca.certificate", c.Keys.CA.Certificate)
	}
	if k := c.Keys.Ledger; strings.Contains(k, ":") {
		if u, err := kms.ParseURI(k); err != nil {
			bad("keys.ledger", "%v", err)
		} else if !c.backendConfigured(u.Scheme) {
			bad("keys.ledger", "backend %q is not configured under backends", u.Scheme)
		}
	}
	if o := c.Ledger.Origin; strings.ContainsFunc(o, func(r rune) bool { return unicode.IsSpace(r) || r == '+' || unicode.IsControl(r) }) {
		bad("ledger.origin", "%q must not contain spaces or '+'", o)
	}
	switch d := c.Ledger.CheckpointDir; {
	case d != "":
		requireAbs(bad, "ledger.checkpoint_dir", d)
	case c.Keys.Ledger != "":
		bad("ledger.checkpoint_dir", "required with keys.ledger: a directory the database administrator cannot write, where every signed checkpoint is published (docs/operations.md)")
	}
	for i, w := range c.Ledger.Witnesses {
		field := fmt.Sprintf("ledger.witnesses[%d]", i)
		if c.Ledger.CheckpointDir == "" {
			bad(field, "needs ledger.checkpoint_dir (cosigned checkpoints are written there)")
		}
		if err := checkWitnessURL(w.URL); err != nil {
			bad(field+".url", "%v", err)
		}
		if _, err := anchor.NewCosignatureVerifier(w.Key); err != nil {
			bad(field+".key", "%v", err)
		}
	}
	if c.Ledger.PublishInterval < 0 {
		bad("ledger.publish_interval", "must be positive")
	}
	if len(c.Trust.Roots) == 0 {
		bad("trust.roots", "list at least one root CA certificate file")
	}
	for i, p := range append(append([]string{}, c.Trust.Roots...), c.Trust.Intermediates...) {
		requireAbs(bad, fmt.Sprintf("trust[%d]", i), p)
	}
	if r := c.Trust.Revocation; r != nil {
		if r.Issuer == "" {
			bad("trust.revocation.issuer", "required: it names the publisher in every revocation list")
		}
		c.requireKey(bad, "trust.revocation.list_signer", r.ListSigner.URI, r.ListSigner.Certificate)
		seen := map[string]bool{}
		for i, ca := range r.CAs {
			field := fmt.Sprintf("trust.revocation.cas[%d]", i)
			switch {
			case ca.Name == "":
				bad(field+".name", "required (root, marketplace or private-build)")
			case seen[ca.Name]:
				bad(field+".name", "%q is listed twice", ca.Name)
			}
			seen[ca.Name] = true
			c.requireKey(bad, field, ca.URI, ca.Certificate)
		}
	}
	if c.Auth.PolicyFile == "" && c.Auth.Policy == nil {
		bad("auth.policy_file", "required: every RPC is authorized by role (see internal/auth for the format)")
	}
	c.validateMetrics(bad)
	if c.Database.MaxConns < 0 {
		bad("database.max_conns", "must be positive")
	}
	if s := c.Keys.LedgerBackend; s != "" {
		switch {
		case strings.Contains(c.Keys.Ledger, ":") || c.Keys.Ledger == "":
			bad("keys.ledger_backend", "set only when keys.ledger names a keystore key to create on first start")
		case !c.backendConfigured(s):
			bad("keys.ledger_backend", "backend %q is not configured under backends", s)
		}
	}
	return errors.Join(errs...)
}

// checkWitnessURL accepts https URLs, and http ones on loopback only.
func checkWitnessURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return err
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: want https://host[:port][/prefix]", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme != "http":
		return fmt.Errorf("%q: scheme must be https", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q: plain http only to a loopback witness; use https", raw)
}

// requireKey checks a key URI and certificate pair: both present, the
// certificate an absolute path, the URI's backend configured.
func (c *Config) requireKey(bad func(field, format string, args ...any), field, uri, cert string) {
	if uri == "" {
		bad(field+".uri", "required: the key URI")
	} else if u, err := kms.ParseURI(uri); err != nil {
		bad(field+".uri", "%v", err)
	} else if !c.backendConfigured(u.Scheme) {
		bad(field+".uri", "backend %q has no section under backends", u.Scheme)
	}
	if cert == "" {
		bad(field+".certificate", "required: the key's certificate (PEM)")
	} else {
		requireAbs(bad, field+".certificate", cert)
	}
}

// backendConfigured reports whether scheme has a backend section.
func (c *Config) backendConfigured(scheme string) bool {
	switch scheme {
	case "softkms":
		return c.Backends.Soft != nil
	case "sealedkms":
		return c.Backends.Sealed != nil
	case "awskms":
		return c.Backends.AWS != nil
	case "pkcs11":
		return c.Backends.PKCS11 != nil
	}
	return false
}

func requireAbs(bad func(string, string, ...any), field, path string) {
	switch {
	case path == "":
		bad(field, "required (an absolute path)")
	case !filepath.IsAbs(path):
		bad(field, "%q must be an absolute path", path)
	case strings.Contains(path, "\x00"):
		bad(field, "contains a NUL byte")
	}
}

// validate checks the backends section, naming each field at fault.
func (b Backends) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if b.Soft == nil && b.Sealed == nil && b.AWS == nil && b.PKCS11 == nil {
		bad("backends", "configure at least one of softkms, sealedkms, awskms, pkcs11")
	}
	if b.Soft != nil {
		requireAbs(bad, "backends.softkms.dir", b.Soft.Dir)
		if b.Soft.PassphraseFile != "" && b.Soft.PassphraseEnv != "" {
			bad("backends.softkms", "set passphrase_file or passphrase_env, not both")
		}
	}
	if b.Sealed != nil {
		if b.Sealed.KEK == "" {
			bad("backends.sealedkms.kek", "required: the KMS symmetric key id, ARN or alias that seals keys")
		}
		if b.Sealed.Environment == "" {
			bad("backends.sealedkms.environment", "required (e.g. prod): it is bound into every sealed key's encryption context")
		}
		requireAbs(bad, "backends.sealedkms.dir", b.Sealed.Dir)
	}
	if b.PKCS11 != nil {
		requireAbs(bad, "backends.pkcs11.module", b.PKCS11.Module)
		if b.PKCS11.Token == "" {
			bad("backends.pkcs11.token", "required: the token label")
		}
		if (b.PKCS11.PINFile == "") == (b.PKCS11.PINEnv == "") {
			bad("backends.pkcs11", "set exactly one of pin_file or pin_env (never the PIN itself)")
		}
	}
	return errors.Join(errs...)
}

// validateMetrics refuses a plaintext operations listener off loopback:
// the metrics name keys and callers' methods, and TLS 1.2+ is required on
// every non-loopback listener.
func (c *Config) validateMetrics(bad func(field, format string, args ...any)) {
	m := c.Metrics
	if m.Listen == "" {
		if m.TLS || len(m.Scrapers) > 0 {
			bad("metrics", "tls and scrapers need metrics.listen")
		}
		return
	}
	loopback, err := transport.IsLoopback(m.Listen)
	if err != nil {
		bad("metrics.listen", "%v", err)
		return
	}
	if !loopback && !m.TLS {
		bad("metrics.listen", "%s is not a loopback address: set metrics.tls: true (HTTPS with the server certificate; /metrics only for metrics.scrapers' client certificates), or listen on 127.0.0.1", m.Listen)
	}
	if !m.TLS {
		if len(m.Scrapers) > 0 {
			bad("metrics.scrapers", "apply to a TLS listener only (metrics.tls: true); on loopback /metrics is open to local processes")
		}
		return
	}
	if c.TLS.CertFile == "" || c.TLS.KeyFile == "" || c.TLS.ClientCAFile == "" {
		bad("metrics.tls", "needs tls.cert_file, key_file and client_ca_file: the listener serves the server certificate and checks scrapers' client certificates")
	}
	if len(m.Scrapers) == 0 {
		bad("metrics.scrapers", "list the SPIFFE IDs that may read /metrics (e.g. spiffe://appsign/ops/prometheus)")
	}
	for i, id := range m.Scrapers {
		if _, _, err := auth.ParseSubject(id); err != nil {
			bad(fmt.Sprintf("metrics.scrapers[%d]", i), "%v", err)
		}
	}
}
