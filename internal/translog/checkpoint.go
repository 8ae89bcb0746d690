package translog

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of the log's size and root hash, in the
// C2SP tlog-checkpoint format: a signed note whose text is
//
//	<origin>
//	<tree size, decimal>
//	<root hash, standard base64>
//
// each line ending in a newline.
type Checkpoint struct {
	Origin string
	Tree   tlog.Tree
	// Note is the signed note, as served to auditors.
	Note []byte
	// CreatedAt is when the log stored it; zero for a checkpoint that was
	// only opened (OpenCheckpoint).
	CreatedAt time.Time
}

// FormatCheckpoint returns the note text of a checkpoint of tree.
func FormatCheckpoint(origin string, tree tlog.Tree) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, tree.N, base64.StdEncoding.EncodeToString(tree.Hash[:]))
}

// ParseCheckpoint parses checkpoint note text (signatures removed).
// Extension lines after the root hash are allowed by C2SP and ignored.
func ParseCheckpoint(text []byte) (origin string, tree tlog.Tree, err error) {
	bad := func(problem string) (string, tlog.Tree, error) {
		return "", tlog.Tree{}, fmt.Errorf("%w: %s", ErrBadCheckpoint, problem)
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		return bad("text does not end in a newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return bad("fewer than three lines")
	}
	if lines[0] == "" {
		return bad("empty origin")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return bad(fmt.Sprintf("tree size %q is not a canonical decimal", lines[1]))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return bad("root hash is not 32 bytes of standard base64")
	}
	return lines[0], tlog.Tree{N: n, Hash: tlog.Hash(raw)}, nil
}

// OpenCheckpoint verifies a signed checkpoint note against verifiers and
// parses it. It returns ErrBadCheckpoint when no trusted key signed it,
// when a trusted key's signature is invalid, when the text is not a
// checkpoint, or when its origin is not origin.
func OpenCheckpoint(msg []byte, origin string, verifiers note.Verifiers) (Checkpoint, error) {
	if verifiers == nil {
		return Checkpoint{}, fmt.Errorf("%w: no trusted keys", ErrBadCheckpoint)
	}
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	got, tree, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if got != origin {
		return Checkpoint{}, fmt.Errorf("%w: origin %q, want %q", ErrBadCheckpoint, got, origin)
	}
	return Checkpoint{Origin: origin, Tree: tree, Note: msg}, nil
}
