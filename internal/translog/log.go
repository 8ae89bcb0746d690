package translog

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
)

// Log is the append-only Merkle log of ledger events kept in PostgreSQL.
// It is safe for concurrent use, and several Logs — in one process or in
// several replicas — may share one database: the sequencer lock (the
// log_head row) orders their batches.
type Log struct {
	pool    *pgxpool.Pool
	opts    Options
	trusted note.Verifiers // opts.Signer's key and opts.Trusted; nil without either

	// base is Open's context without its cancellation: batches and the
	// publisher outlive the call to Open, and end with Close.
	base     context.Context
	queue    chan *request
	stop     chan struct{} // closed by Close
	done     chan struct{} // closed when the sequencer has exited
	once     sync.Once
	appended chan struct{} // capacity 1: "a batch committed", for the publisher
	refused  refusal       // why the last checkpoint attempt refused to sign
}

// Open returns a Log over a migrated database (see ledger.Migrate) and
// starts its sequencer. The pool stays the caller's: Close does not close
// it. Call Close when done.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Log, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var list []note.Verifier
	if opts.Signer != nil {
		own, err := NoteVerifier(opts.Origin, opts.Signer.Public())
		if err != nil {
			return nil, fmt.Errorf("%w: ledger key: %w", ErrInvalidOptions, err)
		}
		list = append(list, own)
	}
	list = append(list, opts.Trusted...)
	l := &Log{
		pool:     pool,
		opts:     opts,
		base:     context.WithoutCancel(ctx),
		queue:    make(chan *request, opts.MaxBatch),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		appended: make(chan struct{}, 1),
	}
	if len(list) > 0 {
		l.trusted = note.VerifierList(list...)
	}
	if _, err := l.head(ctx); err != nil {
		return nil, fmt.Errorf("translog: open: %w", err)
	}
	go l.sequence()
	return l, nil
}

// Close stops the sequencer: a batch in flight completes, appends still
// queued fail with ErrClosed. It does not close the pool. Closing twice is
// not an error.
func (l *Log) Close() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

// Origin returns the log's origin, the first line of its checkpoints.
func (l *Log) Origin() string { return l.opts.Origin }

// VerifierKey returns the note verifier key of the ledger key, for
// auditors, or ErrNoSigner.
func (l *Log) VerifierKey() (string, error) {
	if l.opts.Signer == nil {
		return "", ErrNoSigner
	}
	return VerifierKey(l.opts.Origin, l.opts.Signer.Public())
}
