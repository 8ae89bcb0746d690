package bundle

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

// Bookkeeping files Install keeps in the trust-store folder. They start
// with a dot and are not *.pem or *.crt, so trust-store loaders (the
// ecosystem's and chain.LoadTrustStore) ignore them.
const (
	// VersionFile holds the installed bundle version, in decimal.
	VersionFile = ".bundle-version"
	// InstalledManifestFile is the manifest of the installed bundle: it
	// says which files Install put there and may later withdraw.
	InstalledManifestFile = ".bundle-manifest.json"
	// RevocationDir holds the installed revocation list and CRLs.
	RevocationDir = ".revocation"
)

// storeFile is one *.pem or *.crt file of a trust store.
type storeFile struct {
	name  string
	data  []byte
	certs []*x509.Certificate // nil if the file could not be parsed
}

// storeState is what a trust-store folder holds.
type storeState struct {
	version      uint64
	installed    *Manifest
	files        []storeFile
	revList      []byte
	revVersion   uint64
	crls         map[string]*x509.RevocationList // by file name; nil value: unreadable
	crlData      map[string][]byte
	warnings     []string
	revDirExists bool
}

// readStore reads dir; a missing dir is an empty store.
func readStore(dir string) (*storeState, error) {
	st := &storeState{crls: make(map[string]*x509.RevocationList), crlData: make(map[string][]byte)}
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return st, nil
	case err != nil:
		return nil, err
	case !info.IsDir():
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	if st.version, err = readVersion(dir); err != nil {
		return nil, err
	}
	if b, err := readRegular(dir, InstalledManifestFile); err == nil {
		if st.installed, err = parseManifest(b); err != nil {
			st.warnings = append(st.warnings, fmt.Sprintf("%s: unreadable (%v): files withdrawn by this bundle cannot be removed", InstalledManifestFile, err))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", InstalledManifestFile, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".pem" && ext != ".crt") {
			continue
		}
		sf := storeFile{name: e.Name()}
		sf.data, err = readRegular(dir, e.Name())
		if err == nil {
			sf.certs, err = chain.ParseCertificatesPEM(sf.data)
		}
		if err != nil {
			st.warnings = append(st.warnings, fmt.Sprintf("%s: not a PEM certificate file (%v): left alone, but the verifier may refuse the trust store", e.Name(), err))
		}
		st.files = append(st.files, sf)
	}
	return st, readRevocationDir(filepath.Join(dir, RevocationDir), st)
}

func readVersion(dir string) (uint64, error) {
	b, err := readRegular(dir, VersionFile)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", VersionFile, err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: not a decimal version; fix or remove it by hand", VersionFile, ErrMalformed)
	}
	return v, nil
}

func readRevocationDir(dir string, st *storeState) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", RevocationDir, err)
	}
	st.revDirExists = true
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == RevocationListFile:
			b, err := readRegular(dir, name)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", RevocationDir, name, err)
			}
			st.revList = b
			if s, err := revocation.Parse(b); err == nil {
				st.revVersion = s.List.Version
			} else {
				st.warnings = append(st.warnings, fmt.Sprintf("%s/%s: unreadable (%v): it will be replaced", RevocationDir, name, err))
			}
		case strings.HasPrefix(name, RoleCRL+"-") && strings.HasSuffix(name, ".crl"):
			b, err := readRegular(dir, name)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", RevocationDir, name, err)
			}
			st.crlData[name] = b
			st.crls[name], _ = x509.ParseRevocationList(b)
		}
	}
	return nil
}

// certificates returns every parsed certificate of the store.
func (st *storeState) certificates() []*x509.Certificate {
	var out []*x509.Certificate
	for _, f := range st.files {
		out = append(out, f.certs...)
	}
	return out
}

func (st *storeState) file(name string) (storeFile, bool) {
	for _, f := range st.files {
		if f.name == name {
			return f, true
		}
	}
	return storeFile{}, false
}

// installedEntry returns the installed manifest's entry for name, or nil.
func (st *storeState) installedEntry(name string) *File {
	if st.installed == nil {
		return nil
	}
	for i, f := range st.installed.Files {
		if f.Name == name {
			return &st.installed.Files[i]
		}
	}
	return nil
}

// InstalledVersion returns the bundle version recorded in truststoreDir,
// or 0 if no bundle was installed there.
func InstalledVersion(truststoreDir string) (uint64, error) {
	v, err := readVersion(truststoreDir)
	if err != nil {
		return 0, fmt.Errorf("bundle: installed version: %w", err)
	}
	return v, nil
}

// InstalledRevocationList returns the revocation list Install put in
// truststoreDir, or nil if there is none. It is not verified here: check
// it with revocation.VerifyTrusted against the trust store's roots.
func InstalledRevocationList(truststoreDir string) ([]byte, error) {
	b, err := readRegular(filepath.Join(truststoreDir, RevocationDir), RevocationListFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bundle: installed revocation list: %w", err)
	}
	return b, nil
}

// InstalledCRLs returns the DER CRLs Install put in truststoreDir.
func InstalledCRLs(truststoreDir string) ([][]byte, error) {
	st := &storeState{crls: make(map[string]*x509.RevocationList), crlData: make(map[string][]byte)}
	if err := readRevocationDir(filepath.Join(truststoreDir, RevocationDir), st); err != nil {
		return nil, fmt.Errorf("bundle: installed CRLs: %w", err)
	}
	var out [][]byte
	for _, name := range sortedKeys(st.crlData) {
		out = append(out, st.crlData[name])
	}
	return out, nil
}
