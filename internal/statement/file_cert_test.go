package statement

import (
	"bytes"
	"errors"
	"testing"

	"github.com/appsign/signer/internal/chain"
)

// TestFileEncoderMatchesMarshal: a FileEncoder of the file's certificate
// gives Marshal's bytes, which ParseFile accepts, and carries that
// certificate's PEM.
func TestFileEncoderMatchesMarshal(t *testing.T) {
	c := newTestChain(t, testNow)
	f := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf)
	want, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	enc := NewFileEncoder(c.leaf)
	if !bytes.Equal(enc.Certificate(), f.Certificate) {
		t.Fatalf("Certificate() =\n%s\nwant\n%s", enc.Certificate(), f.Certificate)
	}
	got, err := enc.Marshal(f.Statement, f.Signature)
	if err != nil {
		t.Fatal(err)
	}
	// Built in one allocation of the final size (encodeFile): nothing
	// grown on the way, nothing over.
	if cap(got) != len(got) || cap(want) != len(want) {
		t.Errorf("capacities %d and %d for %d bytes; want the exact size", cap(got), cap(want), len(got))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("FileEncoder.Marshal =\n%s\nMarshal =\n%s", got, want)
	}
	if _, err := ParseFile(got); err != nil {
		t.Fatalf("ParseFile(FileEncoder.Marshal()) = %v", err)
	}
}

// TestFileEncoderInvalid: the encoder refuses the statements and
// signatures Marshal refuses.
func TestFileEncoderInvalid(t *testing.T) {
	c := newTestChain(t, testNow)
	good := signedFile(t, c.leafKey, statementFor([]byte("archive")), c.leaf)
	enc := NewFileEncoder(c.leaf)
	tests := []struct {
		name    string
		st, sig []byte
	}{
		{"no statement", nil, good.Signature},
		{"CRLF statement", bytes.ReplaceAll(good.Statement, []byte("\n"), []byte("\r\n")), good.Signature},
		{"statement with trailing bytes", append(bytes.Clone(good.Statement), 'x'), good.Signature},
		{"no signature", good.Statement, nil},
		{"65-byte signature", good.Statement, append(bytes.Clone(good.Signature), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := enc.Marshal(tt.st, tt.sig); !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("Marshal = %q, %v; want chain.ErrMalformed", b, err)
			}
		})
	}
}
