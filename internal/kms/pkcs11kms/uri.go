package pkcs11kms

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/appsign/signer/internal/kms"
)

// uriAttrs are the attributes a pkcs11 key URI may carry. Anything else
// (module-path, slot-id, pin-source, ...) is configuration, not key naming,
// and is refused rather than silently ignored.
var uriAttrs = map[string]bool{"token": true, "object": true, "id": true}

// keyRef selects one Ed25519 key pair on the token by label and/or CKA_ID.
type keyRef struct {
	token string
	label string
	id    []byte
}

// parseKeyURI checks a key URI against the backend's token.
func parseKeyURI(uri kms.URI, token string) (keyRef, error) {
	if uri.Scheme != Scheme {
		return keyRef{}, fmt.Errorf("%w: scheme %q is not %s", kms.ErrInvalidURI, uri.Scheme, Scheme)
	}
	if bad := unknownAttrs(uri); len(bad) > 0 {
		return keyRef{}, fmt.Errorf("%w: pkcs11: unsupported attribute(s) %s; want token, object and optionally id", kms.ErrInvalidURI, strings.Join(bad, ", "))
	}
	tok, err := uri.Require("token")
	if err != nil {
		return keyRef{}, err
	}
	ref := keyRef{token: tok, label: uri.Get("object")}
	if uri.Has("id") {
		id, err := hex.DecodeString(uri.Get("id"))
		if err != nil || len(id) == 0 {
			return keyRef{}, fmt.Errorf("%w: pkcs11: id must be non-empty hex", kms.ErrInvalidURI)
		}
		ref.id = id
	}
	if ref.label == "" && ref.id == nil {
		return keyRef{}, fmt.Errorf("%w: pkcs11: missing attribute \"object\" (or \"id\")", kms.ErrInvalidURI)
	}
	if tok != token {
		return keyRef{}, fmt.Errorf("pkcs11: token %q is not served by this backend (token %q): %w", tok, token, kms.ErrKeyNotFound)
	}
	return ref, nil
}

func unknownAttrs(uri kms.URI) []string {
	// URI has no attribute iterator; the canonical string lists them all.
	_, rest, _ := strings.Cut(uri.String(), ":")
	var bad []string
	for part := range strings.SplitSeq(rest, ";") {
		name, _, _ := strings.Cut(part, "=")
		if name != "" && !uriAttrs[name] {
			bad = append(bad, name)
		}
	}
	sort.Strings(bad)
	return bad
}

// uri is the canonical URI of the key: token, object label and hex id.
func (r keyRef) uri() kms.URI {
	attrs := map[string]string{"token": r.token}
	if r.label != "" {
		attrs["object"] = r.label
	}
	if len(r.id) > 0 {
		attrs["id"] = hex.EncodeToString(r.id)
	}
	return kms.NewURI(Scheme, attrs)
}
