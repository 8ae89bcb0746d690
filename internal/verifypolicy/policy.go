package verifypolicy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/appsign/signer/internal/chain"
)

// Mode is how failures of one origin are treated.
type Mode string

// Modes.
const (
	// Enforce: a failure rejects the archive.
	Enforce Mode = "enforce"
	// Warn: a failure is reported as a warning and the archive accepted.
	Warn Mode = "warn"
	// Off: checking is switched off (development, CI); failures are still
	// reported as warnings.
	Off Mode = "off"
)

// Unsigned is the policy key for archives without a verifying signature:
// no signature file, or one that does not verify (origin unknown).
const Unsigned = "unsigned"

// ErrBadPolicy reports a --policy spec that does not parse.
var ErrBadPolicy = errors.New("bad policy")

// Policy is a mode per origin key: chain.OriginMarketplace,
// chain.OriginPrivateBuild, chain.OriginCustom and Unsigned. A key that is
// missing enforces.
type Policy map[string]Mode

// keys are the policy keys a spec may name.
var keys = []string{chain.OriginMarketplace, chain.OriginPrivateBuild, chain.OriginCustom, Unsigned}

// Parse reads "KEY=MODE,…" (KEY marketplace, private-build, custom or
// unsigned; MODE enforce, warn or off). Unnamed keys enforce; the empty
// spec enforces everything. A key named twice takes the last mode.
func Parse(spec string) (Policy, error) {
	pol := Policy{}
	for _, k := range keys {
		pol[k] = Enforce
	}
	if spec == "" {
		return pol, nil
	}
	for _, part := range strings.Split(spec, ",") {
		key, mode, ok := strings.Cut(strings.TrimSpace(part), "=")
		if _, known := pol[key]; !ok || !known {
			return nil, fmt.Errorf("%w: %q: want KEY=MODE with KEY one of %s", ErrBadPolicy, part, strings.Join(keys, ", "))
		}
		switch m := Mode(mode); m {
		case Enforce, Warn, Off:
			pol[key] = m
		default:
			return nil, fmt.Errorf("%w: %q: want MODE enforce, warn or off", ErrBadPolicy, part)
		}
	}
	return pol, nil
}

// ModeFor returns the mode that governs a signature of origin: an unknown
// (or unrecognised) origin is governed by Unsigned, never by the mode of
// an origin the file might claim.
func (p Policy) ModeFor(origin string) Mode {
	key := origin
	if !knownOrigin(origin) {
		key = Unsigned
	}
	if m, ok := p[key]; ok {
		return m
	}
	return Enforce
}

func knownOrigin(origin string) bool {
	switch origin {
	case chain.OriginMarketplace, chain.OriginPrivateBuild, chain.OriginCustom:
		return true
	}
	return false
}
