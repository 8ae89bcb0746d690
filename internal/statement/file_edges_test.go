package statement

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/chain"
)

// TestParseFileRepeatsAfterTheLastField: a file that is complete and then
// repeats one of its own fields (so that a lax reader might take the second
// value) is malformed, and parsing it must not crash on the member past the
// end of the field list.
func TestParseFileRepeatsAfterTheLastField(t *testing.T) {
	c := newTestChain(t, testNow)
	f := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf)
	b64 := base64.StdEncoding.EncodeToString
	m := func(name, value string) string { return `"` + name + `":"` + value + `"` }
	head := []string{m("profile", "digest-v1"), m("statement", b64(f.Statement)), m("signature", b64(f.Signature)), m("certificate", b64(f.Certificate))}
	for _, extra := range []string{head[0], head[1], head[2], head[3]} {
		name := extra[1 : strings.Index(extra[1:], `"`)+1]
		t.Run(name, func(t *testing.T) {
			in := []byte("{" + strings.Join(append(append([]string(nil), head...), extra), ",") + "}")
			got, err := ParseFile(in)
			if !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("ParseFile = %+v, %v; want chain.ErrMalformed", got, err)
			}
		})
	}
	// The control: the four fields alone parse.
	if _, err := ParseFile([]byte("{" + strings.Join(head, ",") + "}")); err != nil {
		t.Fatalf("ParseFile of the canonical file: %v", err)
	}
}

// TestDetectProfileSizeLimit: DetectProfile reads at most the larger of the
// two profiles' size limits, and anything up to it.
func TestDetectProfileSizeLimit(t *testing.T) {
	limit := max(MaxFileSize, chain.MaxSignatureFileSize)
	padded := func(n int) []byte { // {"profile":"digest-v1" <spaces>} of n bytes
		const head, tail = `{"profile":"digest-v1"`, `}`
		return []byte(head + strings.Repeat(" ", n-len(head)-len(tail)) + tail)
	}
	if p, err := DetectProfile(padded(limit)); err != nil || p != ProfileDigestV1 {
		t.Errorf("DetectProfile of %d bytes = %q, %v; want %q", limit, p, err, ProfileDigestV1)
	}
	if p, err := DetectProfile(padded(limit + 1)); !errors.Is(err, chain.ErrMalformed) {
		t.Errorf("DetectProfile of %d bytes = %q, %v; want chain.ErrMalformed", limit+1, p, err)
	}
}
