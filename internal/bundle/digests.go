package bundle

import (
	"fmt"
)

// checkFileSet requires exactly the listed files and the four fixed ones.
func checkFileSet(d *bundleDir, m *Manifest) error {
	expected := map[string]bool{ManifestFile: true, SignatureFile: true, SHA256SumsFile: true, SHA512SumsFile: true}
	for _, f := range m.Files {
		expected[f.Name] = true
	}
	for _, name := range sortedKeys(d.present) {
		if !expected[name] {
			return fmt.Errorf("%s: %w: not listed in %s", name, ErrUnexpectedFile, ManifestFile)
		}
	}
	for _, name := range sortedKeys(expected) {
		if !d.present[name] {
			return fmt.Errorf("%s: %w", name, ErrMissingFile)
		}
	}
	return nil
}

// checkDigests compares every file with the manifest and the sums files.
func checkDigests(d *bundleDir, m *Manifest) error {
	actual256, actual512 := make(map[string]string), make(map[string]string)
	for _, name := range []string{ManifestFile, SignatureFile} {
		b, err := d.read(name)
		if err != nil {
			return err
		}
		actual256[name], actual512[name] = fileDigests(b)
	}
	for _, f := range m.Files {
		b, err := d.read(f.Name)
		if err != nil {
			return err
		}
		s256, s512 := fileDigests(b)
		switch {
		case s256 != f.SHA256:
			return fmt.Errorf("%s: %w: SHA-256 %s, %s says %s", f.Name, ErrDigestMismatch, s256, ManifestFile, f.SHA256)
		case s512 != f.SHA512:
			return fmt.Errorf("%s: %w: SHA-512 differs from %s", f.Name, ErrDigestMismatch, ManifestFile)
		}
		actual256[f.Name], actual512[f.Name] = s256, s512
	}
	for _, s := range []struct {
		file   string
		hexLen int
		actual map[string]string
	}{{SHA256SumsFile, 64, actual256}, {SHA512SumsFile, 128, actual512}} {
		b, err := d.read(s.file)
		if err != nil {
			return err
		}
		sums, err := parseSums(b, s.hexLen)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		for _, name := range sortedKeys(s.actual) {
			sum, ok := sums[name]
			switch {
			case !ok:
				return fmt.Errorf("%s: %w: no line for %s", s.file, ErrMalformed, name)
			case sum != s.actual[name]:
				return fmt.Errorf("%s: %w: the line for %s does not match the file", s.file, ErrDigestMismatch, name)
			}
		}
		for _, name := range sortedKeys(sums) {
			if _, ok := s.actual[name]; !ok {
				return fmt.Errorf("%s: %w: lists %s, which is not part of the bundle", s.file, ErrMalformed, name)
			}
		}
	}
	return nil
}
