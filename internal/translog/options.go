package translog

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"golang.org/x/mod/sumdb/note"

	"github.com/appsign/signer/internal/kms"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxBatch     = 1024
	DefaultMaxPayload   = 1 << 20
	DefaultBatchTimeout = 30 * time.Second
)

// Options configures a Log.
type Options struct {
	// Origin names the log: the first line of its checkpoints and the name
	// of the checkpoint signing key, e.g. "appsign.example.com/ledger".
	// Required; no spaces or plus signs (a note key name).
	Origin string
	// Signer is the ledger key that signs checkpoints (any kms backend: the
	// checkpoint text is about 100 bytes). Nil makes an append-only replica
	// whose Checkpoint returns ErrNoSigner.
	Signer kms.Signer
	// Trusted are further keys whose signatures on stored checkpoints
	// Checkpoint accepts as the log's history, e.g. the previous ledger key
	// after a rotation. The Signer's own key is always trusted.
	Trusted []note.Verifier
	// Anchor, when set, is where every signed checkpoint is published
	// outside the database before it is stored, and what Checkpoint checks
	// the stored tree against (see Anchor). Nil anchors checkpoints only in
	// the database, which its administrator controls.
	Anchor Anchor
	// OnCheckpoint, when set, is called after every checkpoint attempt
	// with the size signed (or found already signed) and nil, or with the
	// error; Refused tells a refusal from a transient failure.
	OnCheckpoint func(size int64, err error)
	// Now is the clock for leaf timestamps; nil means time.Now.
	Now func() time.Time
	// MaxBatch is the most entries one append transaction holds;
	// 0 means DefaultMaxBatch.
	MaxBatch int
	// BatchDelay is how long the sequencer waits for more entries after the
	// first of a batch when fewer than MaxBatch are queued. 0 sends what is
	// queued at once: under load batches fill while the previous one
	// commits, so a delay only helps when appends trickle in.
	BatchDelay time.Duration
	// BatchTimeout bounds one append transaction, waiting for the sequencer
	// lock included; 0 means DefaultBatchTimeout.
	BatchTimeout time.Duration
	// MaxPayload is the largest payload Append accepts, in bytes;
	// 0 means DefaultMaxPayload.
	MaxPayload int
	// Logger receives the publisher's errors; nil discards them.
	Logger *slog.Logger
	// OnCommit, when set, is called by the sequencer after each committed
	// append transaction with its number of leaves, and whether it ran
	// entry by entry (a callback or group failed in the fast attempt). It
	// must return quickly: the next batch waits.
	OnCommit func(leaves int, entryByEntry bool)
}

func (o Options) withDefaults() (Options, error) {
	if err := checkOrigin(o.Origin); err != nil {
		return o, err
	}
	if o.MaxBatch < 0 || o.MaxPayload < 0 || o.BatchDelay < 0 || o.BatchTimeout < 0 {
		return o, fmt.Errorf("%w: negative batch or payload limit", ErrInvalidOptions)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = DefaultBatchTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// checkOrigin applies note's rules for key names, which the origin doubles as.
func checkOrigin(origin string) error {
	if origin == "" || strings.ContainsFunc(origin, func(r rune) bool {
		return unicode.IsSpace(r) || r == '+' || unicode.IsControl(r)
	}) {
		return fmt.Errorf("%w: origin %q must be non-empty, without spaces or '+'", ErrInvalidOptions, origin)
	}
	return nil
}
