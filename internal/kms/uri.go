package kms

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// URI names a key in a backend, in the form "scheme:name=value;name=value",
// e.g. "softkms:path=/var/lib/signer/keys/signing.key" or
// "pkcs11:token=signer;object=signing-2026". Values are percent-decoded.
// A URI never carries a secret: PINs and passphrases come from files or
// the environment, and Parse rejects the attribute names that would hold one.
type URI struct {
	Scheme string
	values map[string]string
}

var (
	schemeRE = regexp.MustCompile(`^[a-z][a-z0-9]{1,31}$`)
	// attrRE is an attribute name: letters, digits, '-' and '_', as in
	// RFC 7512's pkcs11 attributes; names are case-insensitive.
	attrRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// maxURILen bounds a key URI, as given and in its canonical form.
const maxURILen = 2048

// secretAttrs are attribute names that must never appear in a key URI.
var secretAttrs = map[string]bool{
	"pin": true, "pin-value": true, "password": true, "passphrase": true,
	"secret": true, "token-secret": true, "secret-access-key": true,
}

// ParseURI parses a key URI. It returns an error wrapping ErrInvalidURI
// that names what is wrong but never echoes attribute values.
func ParseURI(s string) (URI, error) {
	if len(s) > maxURILen {
		return URI{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidURI, maxURILen)
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !schemeRE.MatchString(scheme) {
		return URI{}, fmt.Errorf("%w: want the form scheme:name=value;name=value", ErrInvalidURI)
	}
	u := URI{Scheme: scheme, values: map[string]string{}}
	if rest == "" {
		return u, nil
	}
	for _, part := range strings.Split(rest, ";") {
		name, raw, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return URI{}, fmt.Errorf("%w: attribute %q has no value", ErrInvalidURI, name)
		}
		if !attrRE.MatchString(name) {
			return URI{}, fmt.Errorf("%w: attribute name %q: use letters, digits, '-' and '_' (at most 64)", ErrInvalidURI, name)
		}
		name = strings.ToLower(name)
		if secretAttrs[name] {
			return URI{}, fmt.Errorf("%w: attribute %q would put a secret in a key URI; use a file or environment variable", ErrInvalidURI, name)
		}
		if _, dup := u.values[name]; dup {
			return URI{}, fmt.Errorf("%w: attribute %q repeated", ErrInvalidURI, name)
		}
		v, err := url.PathUnescape(raw)
		if err != nil {
			return URI{}, fmt.Errorf("%w: attribute %q is not percent-encoded correctly", ErrInvalidURI, name)
		}
		u.values[name] = v
	}
	// Percent-encoding can lengthen what was given decoded; the canonical
	// form, which logs and the ledger carry, keeps the same bound.
	if len(u.String()) > maxURILen {
		return URI{}, fmt.Errorf("%w: longer than %d bytes in canonical form", ErrInvalidURI, maxURILen)
	}
	return u, nil
}

// MustParseURI is ParseURI for constants in tests and defaults; it panics on error.
func MustParseURI(s string) URI {
	u, err := ParseURI(s)
	if err != nil {
		panic(err)
	}
	return u
}

// NewURI builds a URI from a scheme and attributes.
func NewURI(scheme string, attrs map[string]string) URI {
	u := URI{Scheme: scheme, values: make(map[string]string, len(attrs))}
	for k, v := range attrs {
		u.values[strings.ToLower(k)] = v
	}
	return u
}

// Get returns the value of attribute name, or "" when absent.
func (u URI) Get(name string) string { return u.values[strings.ToLower(name)] }

// Has reports whether attribute name is present.
func (u URI) Has(name string) bool { _, ok := u.values[strings.ToLower(name)]; return ok }

// Require returns the value of attribute name or an ErrInvalidURI error.
func (u URI) Require(name string) (string, error) {
	v, ok := u.values[strings.ToLower(name)]
	if !ok || v == "" {
		return "", fmt.Errorf("%w: %s: missing attribute %q", ErrInvalidURI, u.Scheme, name)
	}
	return v, nil
}

// String returns the canonical form: attributes sorted by name, values percent-encoded.
func (u URI) String() string {
	names := make([]string, 0, len(u.values))
	for k := range u.values {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteByte(':')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(escapeValue(u.values[k]))
	}
	return b.String()
}

// escapeValue percent-encodes what would break the URI syntax (';', '=',
// '%', spaces and non-printable bytes) and leaves paths and ARNs readable.
func escapeValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == ';' || c == '=' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
