package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxPolicySize bounds a policy file; real ones are a few kilobytes.
const maxPolicySize = 1 << 20

// policyFile is the YAML form of a policy (see the package documentation).
type policyFile struct {
	Version     int            `yaml:"version"`
	TrustDomain string         `yaml:"trust_domain"`
	Identities  []identityRule `yaml:"identities"`
	Reflection  *accessRule    `yaml:"reflection"`
	Loopback    *identityRule  `yaml:"loopback"`
}

// identityRule grants roles to one SPIFFE ID (ID) or to every ID under a
// path (Prefix).
type identityRule struct {
	ID             string   `yaml:"id"`
	Prefix         string   `yaml:"prefix"`
	Roles          []Role   `yaml:"roles"`
	Vendor         string   `yaml:"vendor"`
	AppKeyPrefixes []string `yaml:"app_key_prefixes"`
}

// accessRule says who may call a configurable group of methods.
type accessRule struct {
	Public bool   `yaml:"public"`
	Roles  []Role `yaml:"roles"`
}

var (
	// vendorRE: a short lowercase vendor handle, e.g. "acme" or "acme-labs".
	vendorRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	// appKeyPrefixRE: reverse-DNS, as the server's app key grammar, with at
	// least two segments so no vendor can claim a whole top-level domain.
	appKeyPrefixRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)+$`)
)

// LoadPolicy reads and validates the policy file at path.
func LoadPolicy(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("auth: policy %s: %w", path, err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy parses and validates a policy in the YAML format of the
// package documentation. Unknown fields, duplicate identities, unknown roles
// and vendor fields on non-vendor identities are errors wrapping
// ErrInvalidPolicy; error texts name the offending entry, never more.
func ParsePolicy(data []byte) (*Policy, error) {
	if len(data) > maxPolicySize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidPolicy, maxPolicySize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f policyFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty policy", ErrInvalidPolicy)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrInvalidPolicy)
	}
	p, err := f.compile()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	return p, nil
}

func (f *policyFile) compile() (*Policy, error) {
	if f.Version != 1 {
		return nil, fmt.Errorf("version: got %d, want 1", f.Version)
	}
	if err := checkTrustDomain(f.TrustDomain); err != nil {
		return nil, fmt.Errorf("trust_domain: %s", err)
	}
	p := &Policy{
		trustDomain: f.TrustDomain,
		exact:       map[string]Identity{},
		methods:     DefaultMethods(),
	}
	for i, r := range f.Identities {
		if err := p.addRule(r); err != nil {
			return nil, fmt.Errorf("identities[%d]: %w", i, err)
		}
	}
	// Longest prefix first: the most specific rule wins.
	slices.SortFunc(p.prefixes, func(a, b prefixRule) int { return len(b.prefix) - len(a.prefix) })

	if f.Reflection != nil {
		acc, err := f.Reflection.access()
		if err != nil {
			return nil, fmt.Errorf("reflection: %w", err)
		}
		for _, m := range ReflectionMethods() {
			p.methods[m] = acc
		}
	}
	if f.Loopback != nil {
		if f.Loopback.Prefix != "" {
			return nil, errors.New("loopback: takes an id, not a prefix")
		}
		id, err := f.Loopback.identity(f.Loopback.ID, f.TrustDomain)
		if err != nil {
			return nil, fmt.Errorf("loopback: %w", err)
		}
		p.loopback = &id
	}
	return p, nil
}

func (p *Policy) addRule(r identityRule) error {
	switch {
	case r.ID != "" && r.Prefix != "":
		return errors.New("set id or prefix, not both")
	case r.ID != "":
		if _, dup := p.exact[r.ID]; dup {
			return fmt.Errorf("id %q is listed twice", r.ID)
		}
		id, err := r.identity(r.ID, p.trustDomain)
		if err != nil {
			return err
		}
		p.exact[r.ID] = id
	case r.Prefix != "":
		if err := checkPrefix(r.Prefix, p.trustDomain); err != nil {
			return err
		}
		if slices.ContainsFunc(p.prefixes, func(q prefixRule) bool { return q.prefix == r.Prefix }) {
			return fmt.Errorf("prefix %q is listed twice", r.Prefix)
		}
		// The subject is filled in with the caller's own ID on lookup.
		id, err := r.identity("", p.trustDomain)
		if err != nil {
			return err
		}
		p.prefixes = append(p.prefixes, prefixRule{prefix: r.Prefix, id: id})
	default:
		return errors.New("set id (one SPIFFE ID) or prefix (every ID under a path)")
	}
	return nil
}

// identity validates the grants of r; subject, when not empty, must be a
// SPIFFE ID in trustDomain.
func (r identityRule) identity(subject, trustDomain string) (Identity, error) {
	if subject != "" {
		td, _, err := ParseSubject(subject)
		if err != nil {
			return Identity{}, err
		}
		if td != trustDomain {
			return Identity{}, fmt.Errorf("id %q is outside trust domain %q", subject, trustDomain)
		}
	}
	if r.Roles == nil {
		return Identity{}, errors.New("roles: required (an empty list [] suspends an identity)")
	}
	for _, role := range r.Roles {
		if !role.Valid() {
			return Identity{}, fmt.Errorf("roles: unknown role %q", role)
		}
	}
	if hasDup(r.Roles) {
		return Identity{}, errors.New("roles: a role is listed twice")
	}
	isVendor := slices.Contains(r.Roles, RoleVendor)
	switch {
	case isVendor && !vendorRE.MatchString(r.Vendor):
		return Identity{}, errors.New("vendor: a vendor identity needs a vendor handle (lowercase letters, digits, '-', '_')")
	case isVendor && len(r.AppKeyPrefixes) == 0:
		return Identity{}, errors.New("app_key_prefixes: a vendor identity needs the app keys it may sign")
	case !isVendor && (r.Vendor != "" || len(r.AppKeyPrefixes) > 0):
		return Identity{}, errors.New("vendor and app_key_prefixes apply to identities with the vendor role only")
	}
	for _, k := range r.AppKeyPrefixes {
		if len(k) > 255 || !appKeyPrefixRE.MatchString(k) {
			return Identity{}, fmt.Errorf("app_key_prefixes: %q is not a reverse-DNS app key of two or more segments", k)
		}
	}
	if hasDup(r.AppKeyPrefixes) {
		return Identity{}, errors.New("app_key_prefixes: an entry is listed twice")
	}
	return Identity{
		Subject:        subject,
		Roles:          slices.Clone(r.Roles),
		Vendor:         r.Vendor,
		AppKeyPrefixes: slices.Clone(r.AppKeyPrefixes),
	}, nil
}

// checkPrefix accepts "spiffe://<trust domain>/" and "<SPIFFE ID>/": a
// prefix always ends at a segment boundary, so ".../pipeline/" never matches
// ".../pipeline-evil/x".
func checkPrefix(prefix, trustDomain string) error {
	base, ok := strings.CutSuffix(prefix, "/")
	if !ok {
		return fmt.Errorf("prefix %q must end with '/'", prefix)
	}
	if base == spiffeScheme+trustDomain {
		return nil
	}
	td, _, err := ParseSubject(base)
	if err != nil {
		return fmt.Errorf("prefix %q: %w", prefix, err)
	}
	if td != trustDomain {
		return fmt.Errorf("prefix %q is outside trust domain %q", prefix, trustDomain)
	}
	return nil
}

func (a accessRule) access() (Access, error) {
	if a.Public && len(a.Roles) > 0 {
		return Access{}, errors.New("set public or roles, not both")
	}
	for _, r := range a.Roles {
		if !r.Valid() {
			return Access{}, fmt.Errorf("roles: unknown role %q", r)
		}
	}
	return Access{Public: a.Public, Roles: slices.Clone(a.Roles)}, nil
}

func hasDup[T comparable](s []T) bool {
	seen := make(map[T]bool, len(s))
	for _, v := range s {
		if seen[v] {
			return true
		}
		seen[v] = true
	}
	return false
}
