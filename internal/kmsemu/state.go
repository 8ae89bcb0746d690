package kmsemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateVersion is the version of the state file format.
const stateVersion = 1

type stateFile struct {
	Version int      `json:"version"`
	Keys    []*key   `json:"keys"`
	Aliases []*alias `json:"aliases"`
}

// load reads StatePath; a missing file is an empty store. A file that group
// or others can read is refused: it holds key material.
func (s *Server) load() error {
	path := s.opts.StatePath
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kmsemu: state file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("kmsemu: state file %s has mode %04o: make it readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("kmsemu: state file: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("kmsemu: state file %s is not valid JSON", path)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("kmsemu: state file %s has version %d, want %d", path, st.Version, stateVersion)
	}
	for _, k := range st.Keys {
		if err := k.prepare(); err != nil {
			return err
		}
		s.keys[k.ID] = k
	}
	for _, a := range st.Aliases {
		if _, ok := s.keys[a.KeyID]; ok {
			s.aliases[a.Name] = a
		}
	}
	return nil
}

// saveLocked writes the store to StatePath atomically with mode 0600. The
// caller holds s.mu.
func (s *Server) saveLocked() error {
	st := stateFile{Version: stateVersion}
	for _, k := range s.keys {
		st.Keys = append(st.Keys, k)
	}
	for _, a := range s.aliases {
		st.Aliases = append(st.Aliases, a)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.opts.StatePath)
	f, err := os.CreateTemp(dir, ".kmsemu-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), s.opts.StatePath)
}
