package server

import (
	"regexp"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// Input grammar, documented in docs/api.md.
const (
	maxAppKeyLen         = 255
	maxVersionLen        = 64
	maxReviewRefLen      = 256
	maxIdempotencyKeyLen = 128
)

var (
	// appKeyRE: reverse-DNS, at least two dot-separated segments, each
	// starting with a letter or digit, e.g. "com.example.time-sheets".
	appKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)+$`)
	// versionRE: starts with a digit; letters, digits and . - + _ after,
	// e.g. "1.4.2", "2.0.0-rc.1+build.7", "1.0.0-SNAPSHOT".
	versionRE = regexp.MustCompile(`^[0-9][0-9A-Za-z.+_-]*$`)
	// idempotencyKeyRE: opaque token chosen by the caller (a UUID fits).
	idempotencyKeyRE = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)
	// reviewRefRE: printable ASCII without control characters.
	reviewRefRE = regexp.MustCompile(`^[\x21-\x7e][\x20-\x7e]*$`)
)

// ValidateAppKey checks the app key grammar.
func ValidateAppKey(k string) error {
	switch {
	case k == "":
		return invalidArg("app_key is required (reverse-DNS, e.g. com.example.my-app)")
	case len(k) > maxAppKeyLen:
		return invalidArg("app_key is longer than %d bytes", maxAppKeyLen)
	case !appKeyRE.MatchString(k):
		return invalidArg("app_key %q is not reverse-DNS: use dot-separated segments of letters, digits, '-' or '_', e.g. com.example.my-app", k)
	}
	return nil
}

// ValidateVersion checks the version grammar.
func ValidateVersion(v string) error {
	switch {
	case v == "":
		return invalidArg("version is required (e.g. 1.4.2)")
	case len(v) > maxVersionLen:
		return invalidArg("version is longer than %d bytes", maxVersionLen)
	case !versionRE.MatchString(v):
		return invalidArg("version %q must start with a digit and use only letters, digits, '.', '-', '+' or '_'", v)
	}
	return nil
}

func validateMetadata(m *signerv1.SignArchiveMetadata) error {
	if err := ValidateAppKey(m.GetAppKey()); err != nil {
		return err
	}
	if err := ValidateVersion(m.GetVersion()); err != nil {
		return err
	}
	if _, err := trackName(m.GetTrack()); err != nil {
		return err
	}
	if r := m.GetReviewRef(); r != "" && (len(r) > maxReviewRefLen || !reviewRefRE.MatchString(r)) {
		return invalidArg("review_ref must be printable ASCII of at most %d bytes", maxReviewRefLen)
	}
	if m.GetTrack() == signerv1.Track_TRACK_MARKETPLACE && m.GetReviewRef() == "" {
		return invalidArg("review_ref is required for TRACK_MARKETPLACE: name the review that approved this version")
	}
	k := m.GetIdempotencyKey()
	switch {
	case k == "":
		return invalidArg("idempotency_key is required: send a unique key per app version (a UUID works) and reuse it on retries")
	case len(k) > maxIdempotencyKeyLen || !idempotencyKeyRE.MatchString(k):
		return invalidArg("idempotency_key must be 1-%d characters of letters, digits, '.', '_', ':' or '-'", maxIdempotencyKeyLen)
	}
	if d := m.GetExpectedSha256(); len(d) != 0 && len(d) != 32 {
		return invalidArg("expected_sha256 must be 32 bytes (got %d)", len(d))
	}
	return nil
}

// trackName maps the API enum to the ledger's text value.
func trackName(t signerv1.Track) (string, error) {
	switch t {
	case signerv1.Track_TRACK_MARKETPLACE:
		return "MARKETPLACE", nil
	case signerv1.Track_TRACK_PRIVATE_BUILD:
		return "PRIVATE_BUILD", nil
	case signerv1.Track_TRACK_UNSPECIFIED:
		return "", invalidArg("track is required: TRACK_MARKETPLACE or TRACK_PRIVATE_BUILD")
	}
	return "", invalidArg("unknown track %d: use TRACK_MARKETPLACE or TRACK_PRIVATE_BUILD", int32(t))
}

func trackEnum(s string) signerv1.Track {
	switch s {
	case "MARKETPLACE":
		return signerv1.Track_TRACK_MARKETPLACE
	case "PRIVATE_BUILD":
		return signerv1.Track_TRACK_PRIVATE_BUILD
	}
	return signerv1.Track_TRACK_UNSPECIFIED
}
