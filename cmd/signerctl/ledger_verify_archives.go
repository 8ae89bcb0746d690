package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/ledger"
)

// archiveOptions are `ledger verify`'s flags for re-checking default
// profile (UPM) signatures over archives the auditor holds.
type archiveOptions struct {
	dirs, manifests []string
	trustBundle     string
}

func (o *archiveOptions) flags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.dirs, "archives", nil, "re-verify the UPM signature of every archive in this directory (each file must be one the ledger signed; repeatable)")
	f.StringArrayVar(&o.manifests, "archive-manifest", nil, "re-verify the UPM signatures of the archives a sha256sum-style manifest lists (\"<sha256>  <path>\", paths relative to the manifest; repeatable)")
	f.StringVar(&o.trustBundle, "trust-bundle", "", "trust store directory or PEM bundle the logged signing certificates must chain to (required with --archives/--archive-manifest)")
}

func (o archiveOptions) enabled() bool { return len(o.dirs) > 0 || len(o.manifests) > 0 }

// archiveCheck builds the archive re-check, or returns nil without
// archives.
func (o archiveOptions) archiveCheck(keys *ledger.LogKeys) (*ledger.ArchiveCheck, error) {
	if !o.enabled() {
		if o.trustBundle != "" {
			return nil, usagef("--trust-bundle is for --archives or --archive-manifest")
		}
		return nil, nil
	}
	if o.trustBundle == "" {
		return nil, usagef("--archives and --archive-manifest need --trust-bundle: the trust store the logged certificates must chain to (the server's word is not checked against itself)")
	}
	ts, err := loadTrustBundle(o.trustBundle)
	if err != nil {
		return nil, err
	}
	archives := map[string]string{}
	for _, dir := range o.dirs {
		if err := hashDir(dir, archives); err != nil {
			return nil, err
		}
	}
	for _, m := range o.manifests {
		if err := readManifest(m, archives); err != nil {
			return nil, err
		}
	}
	return &ledger.ArchiveCheck{Archives: archives, Trust: ts, Keys: keys}, nil
}

// loadTrustBundle reads a trust store directory or a PEM bundle file.
func loadTrustBundle(path string) (*chain.TrustStore, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--trust-bundle: %w", err)
	}
	if st.IsDir() {
		return chain.LoadTrustStore(path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--trust-bundle: %w", err)
	}
	certs, err := chain.ParseCertificatesPEM(b)
	if err != nil {
		return nil, fmt.Errorf("--trust-bundle %s: %w", path, err)
	}
	return chain.NewTrustStore(certs...), nil
}

// hashDir adds every regular file directly in dir by its SHA-256.
func hashDir(dir string, into map[string]string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--archives: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		sum, err := fileSHA256(path)
		if err != nil {
			return fmt.Errorf("--archives: %w", err)
		}
		into[sum] = path
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readManifest reads "<sha256 hex>  <path>" lines (sha256sum's format;
// a leading '*' on the path, binary mode, is dropped). The files are not
// hashed here: the re-check hashes each one as it verifies it, so a file
// changed since the manifest was written is named.
func readManifest(path string, into map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--archive-manifest: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, file, ok := strings.Cut(line, " ")
		file = strings.TrimPrefix(strings.TrimSpace(file), "*")
		if b, err := hex.DecodeString(sum); !ok || err != nil || len(b) != sha256.Size || file == "" {
			return fmt.Errorf("--archive-manifest %s:%d: want \"<sha256 hex>  <path>\"", path, n)
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(path), file)
		}
		into[strings.ToLower(sum)] = file
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("--archive-manifest %s: %w", path, err)
	}
	return nil
}
