package verifypolicy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/verifypolicy"
)

var (
	now        = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	errChain   = errors.New("chain: verify: untrusted")
	errRevoked = errors.New("revoked")
)

func mustParse(t *testing.T, spec string) verifypolicy.Policy {
	t.Helper()
	p, err := verifypolicy.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDecide asserts on the decision value only: accepted or not, under
// which origin and mode, with which failure standing.
func TestDecide(t *testing.T) {
	const (
		mkt     = chain.OriginMarketplace
		pb      = chain.OriginPrivateBuild
		custom  = chain.OriginCustom
		unknown = chain.OriginUnknown
	)
	tests := []struct {
		name         string
		spec         string
		in           verifypolicy.Input
		wantOrigin   string
		wantMode     verifypolicy.Mode
		wantValid    bool
		wantAccepted bool
		wantFailure  error // errors.Is target; nil: none
		wantWarning  bool  // the missing-revocation warning
		noSigFile    bool  // the archive came without a signature file
	}{
		{"valid marketplace", "", verifypolicy.Input{Origin: mkt}, mkt, verifypolicy.Enforce, true, true, nil, false, false},
		{"valid custom under custom=off", "custom=off", verifypolicy.Input{Origin: custom}, custom, verifypolicy.Off, true, true, nil, false, false},

		// The finding: a file that does not verify cannot pick a lenient origin.
		{"unverifiable file under marketplace=enforce,custom=off", "marketplace=enforce,custom=off",
			verifypolicy.Input{Origin: unknown, Failure: errChain}, unknown, verifypolicy.Enforce, false, false, errChain, false, false},
		{"unverifiable file under every origin off", "marketplace=off,private-build=off,custom=off",
			verifypolicy.Input{Origin: unknown, Failure: errChain}, unknown, verifypolicy.Enforce, false, false, errChain, false, false},
		{"fake-CA private build under private-build=warn", "private-build=warn",
			verifypolicy.Input{Origin: unknown, Failure: errChain}, unknown, verifypolicy.Enforce, false, false, errChain, false, false},
		{"origin a caller forgot to clear is still unknown", "custom=off",
			verifypolicy.Input{Origin: "", Failure: errChain}, unknown, verifypolicy.Enforce, false, false, errChain, false, false},
		{"an origin string not ours is unknown", "custom=off",
			verifypolicy.Input{Origin: "Custom", Failure: errChain}, unknown, verifypolicy.Enforce, false, false, errChain, false, false},
		{"unverifiable file under unsigned=warn", "unsigned=warn",
			verifypolicy.Input{Origin: unknown, Failure: errChain}, unknown, verifypolicy.Warn, false, true, errChain, false, false},
		{"unverifiable file under unsigned=off", "unsigned=off",
			verifypolicy.Input{Origin: unknown, Failure: errChain}, unknown, verifypolicy.Off, false, true, errChain, false, false},
		{"success without an origin is refused", "unsigned=enforce",
			verifypolicy.Input{Origin: ""}, unknown, verifypolicy.Enforce, false, false, verifypolicy.ErrUnknownOrigin, false, false},

		// Failures after the chain verified: the chain's origin's mode.
		{"out of scope private build under private-build=warn", "private-build=warn",
			verifypolicy.Input{Origin: pb, Failure: chain.ErrOutOfScope}, pb, verifypolicy.Warn, false, true, chain.ErrOutOfScope, false, false},
		{"out of scope private build under custom=off", "custom=off",
			verifypolicy.Input{Origin: pb, Failure: chain.ErrOutOfScope}, pb, verifypolicy.Enforce, false, false, chain.ErrOutOfScope, false, false},
		{"revoked marketplace under marketplace=enforce", "",
			verifypolicy.Input{Origin: mkt, Failure: errRevoked}, mkt, verifypolicy.Enforce, false, false, errRevoked, false, false},

		// Revocation data.
		{"no revocation list warns", "", verifypolicy.Input{Origin: mkt, Revocation: verifypolicy.RevocationNone}, mkt, verifypolicy.Enforce, true, true, nil, true, false},
		{"no revocation list under --require-revocation", "",
			verifypolicy.Input{Origin: mkt, Revocation: verifypolicy.RevocationNone, RequireRevocation: true}, mkt, verifypolicy.Enforce, false, false, verifypolicy.ErrNoRevocationList, false, false},
		{"no revocation list under --require-revocation, marketplace=warn", "marketplace=warn",
			verifypolicy.Input{Origin: mkt, Revocation: verifypolicy.RevocationNone, RequireRevocation: true}, mkt, verifypolicy.Warn, false, true, verifypolicy.ErrNoRevocationList, false, false},
		{"list checked under --require-revocation", "",
			verifypolicy.Input{Origin: pb, Revocation: verifypolicy.RevocationChecked, RequireRevocation: true}, pb, verifypolicy.Enforce, true, true, nil, false, false},
		{"the earlier failure stands over the missing list", "",
			verifypolicy.Input{Origin: pb, Failure: chain.ErrOutOfScope, Revocation: verifypolicy.RevocationNone, RequireRevocation: true}, pb, verifypolicy.Enforce, false, false, chain.ErrOutOfScope, false, false},

		// No signature file.
		{"unsigned within the grace period", "",
			verifypolicy.Input{Origin: unknown, Failure: errChain, GraceUntil: now.Add(time.Hour)}, unknown, verifypolicy.Enforce, false, true, errChain, false, true},
		{"unsigned after the grace period", "",
			verifypolicy.Input{Origin: unknown, Failure: errChain, GraceUntil: now.Add(-time.Hour)}, unknown, verifypolicy.Enforce, false, false, errChain, false, true},
		{"unsigned at the end of the grace period", "",
			verifypolicy.Input{Origin: unknown, Failure: errChain, GraceUntil: now}, unknown, verifypolicy.Enforce, false, false, errChain, false, true},
		{"unsigned without grace, unsigned=warn", "unsigned=warn",
			verifypolicy.Input{Origin: unknown, Failure: errChain}, unknown, verifypolicy.Warn, false, true, errChain, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Policy, in.Now = mustParse(t, tt.spec), now
			in.HasSignatureFile = !tt.noSigFile
			d := verifypolicy.Decide(in)
			if d.Origin != tt.wantOrigin || d.Mode != tt.wantMode || d.Valid != tt.wantValid || d.Accepted != tt.wantAccepted {
				t.Errorf("Decide = origin %q mode %q valid %v accepted %v; want %q %q %v %v",
					d.Origin, d.Mode, d.Valid, d.Accepted, tt.wantOrigin, tt.wantMode, tt.wantValid, tt.wantAccepted)
			}
			switch {
			case tt.wantFailure == nil && d.Failure != nil:
				t.Errorf("Failure = %v, want none", d.Failure)
			case tt.wantFailure != nil && !errors.Is(d.Failure, tt.wantFailure):
				t.Errorf("Failure = %v, want %v", d.Failure, tt.wantFailure)
			}
			if got := len(d.Warnings) == 1 && d.Warnings[0] == verifypolicy.NoRevocationWarning; got != tt.wantWarning {
				t.Errorf("Warnings = %q, want the missing-revocation warning: %v", d.Warnings, tt.wantWarning)
			}
			wantKey := tt.wantOrigin
			if wantKey == unknown {
				wantKey = verifypolicy.Unsigned
			}
			if d.PolicyKey != wantKey {
				t.Errorf("PolicyKey = %q, want %q", d.PolicyKey, wantKey)
			}
			if d.Accepted && !d.Valid && d.Note == "" {
				t.Errorf("a failure was accepted without a note")
			}
		})
	}
}

// TestDecideGraceNeedsNoSignatureFile: the grace period is for archives
// without a signature file; a file that fails to verify is not unsigned
// by the grace period's rule (only by unsigned=warn|off).
func TestDecideGraceNeedsNoSignatureFile(t *testing.T) {
	in := verifypolicy.Input{Origin: chain.OriginUnknown, HasSignatureFile: true, Failure: errChain,
		Policy: mustParse(t, ""), Now: now, GraceUntil: now.Add(time.Hour)}
	if d := verifypolicy.Decide(in); d.Accepted {
		t.Errorf("a bad signature file was accepted by the grace period: %+v", d)
	}
	in.HasSignatureFile = false
	if d := verifypolicy.Decide(in); !d.Accepted {
		t.Errorf("an archive without signature file was refused within the grace period: %+v", d)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		spec    string
		want    map[string]verifypolicy.Mode
		wantErr bool
	}{
		{"", map[string]verifypolicy.Mode{"marketplace": "enforce", "private-build": "enforce", "custom": "enforce", "unsigned": "enforce"}, false},
		{"custom=off, unsigned=warn", map[string]verifypolicy.Mode{"marketplace": "enforce", "private-build": "enforce", "custom": "off", "unsigned": "warn"}, false},
		{"private-build=warn,private-build=enforce", map[string]verifypolicy.Mode{"marketplace": "enforce", "private-build": "enforce", "custom": "enforce", "unsigned": "enforce"}, false},
		{"unknown=off", nil, true},
		{"marketplace=lenient", nil, true},
		{"marketplace", nil, true},
		{"custom=off,", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := verifypolicy.Parse(tt.spec)
			if tt.wantErr {
				if !errors.Is(err, verifypolicy.ErrBadPolicy) {
					t.Fatalf("Parse = %v, %v; want ErrBadPolicy", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Parse = %v, want %v", got, tt.want)
			}
			for k, m := range tt.want {
				if got[k] != m {
					t.Errorf("%s = %q, want %q", k, got[k], m)
				}
			}
		})
	}
}

// TestModeForUnknownOrigin: an origin the trust store did not establish
// takes the unsigned mode, however lenient the named origins are.
func TestModeForUnknownOrigin(t *testing.T) {
	p := mustParse(t, "marketplace=off,private-build=off,custom=off")
	for _, origin := range []string{chain.OriginUnknown, "", "unsigned", "marketplace "} {
		if m := p.ModeFor(origin); m != verifypolicy.Enforce {
			t.Errorf("ModeFor(%q) = %q, want enforce", origin, m)
		}
	}
	if m := p.ModeFor(chain.OriginCustom); m != verifypolicy.Off {
		t.Errorf("ModeFor(custom) = %q, want off", m)
	}
}
