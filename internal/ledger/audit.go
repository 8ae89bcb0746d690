package ledger

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/appsign/signer/internal/translog"
)

// Finding is one thing an Audit found wrong with the signature table, as
// compared with the log.
type Finding struct {
	// Index is the log leaf concerned, or -1 when no leaf is.
	Index int64
	// EntryID is the signatures row concerned, or 0.
	EntryID int64
	// Problem says what is wrong.
	Problem string
}

func (f Finding) String() string {
	switch {
	case f.Index >= 0 && f.EntryID > 0:
		return fmt.Sprintf("leaf %d (entry %d): %s", f.Index, f.EntryID, f.Problem)
	case f.Index >= 0:
		return fmt.Sprintf("leaf %d: %s", f.Index, f.Problem)
	case f.EntryID == 0:
		return f.Problem
	}
	return fmt.Sprintf("entry %d: %s", f.EntryID, f.Problem)
}

// KeyRef names one signing key version.
type KeyRef struct {
	ID      string
	Version int32
}

// Audit cross-checks the signatures table, as served (ListEntries in id
// order), against the signature leaves of the log (in index order), which
// translog.Verify proves against signed checkpoints. Feed it every leaf
// with Leaf, then call Finish. It holds one row at a time: entry ids and
// leaf indexes grow together, because Record assigns both under the
// sequencer lock.
//
// For every signature leaf it checks that the row with the leaf's entry id
// exists, names the leaf (log_index), and has exactly the logged fields;
// every row no leaf records is reported (inserted behind the service's
// back, or written before the ledger had a log). With Keys set it also
// checks each signature: for digest-v1 entries the Ed25519 signature over
// the recorded statement with the key version's public key; UPM entries
// sign the archive, which the ledger does not hold, so for them only the
// logged signature bytes are bound (a changed signature is a changed row).
type Audit struct {
	// Keys are the public keys of the signing key versions; nil skips the
	// signature checks.
	Keys map[KeyRef]ed25519.PublicKey
	// Size is the signed tree size the leaves are checked against. Rows
	// naming a leaf at or past it were recorded after the checkpoint: they
	// are checked by Finish against the log's size then, and fully by the
	// next audit.
	Size int64
	// MaxFindings caps Findings; 0 means 1000.
	MaxFindings int

	// Workers check signatures in parallel; 0 means GOMAXPROCS.
	Workers int

	// Findings, by leaf index once Finish returns.
	Findings []Finding
	// Truncated is set when more were found than MaxFindings.
	Truncated bool
	// Signatures counts the signature leaves seen; Checked the Ed25519
	// signatures verified (final once Finish returns).
	Signatures, Checked int64

	mu      sync.Mutex // guards Findings and Truncated while workers run
	jobs    chan sigJob
	wg      sync.WaitGroup
	checked atomic.Int64

	next    func() (auditRow, error, bool)
	stop    func()
	row     *auditRow
	rowErr  error
	lastID  int64
	pending []Entry // rows past Size
}

// NewAudit starts an audit over rows, the signatures table in ascending id
// order. Call Finish to release it.
func NewAudit(rows iter.Seq2[Entry, error]) *Audit {
	a := &Audit{}
	a.next, a.stop = pullAhead(encodeRows(rows))
	return a
}

// pullAhead is iter.Pull2 with seq running ahead in its own goroutine, a
// few batches deep, so that reading rows (a database or a server away)
// overlaps checking them. stop ends seq and waits for the goroutine.
func pullAhead[K, V any](seq iter.Seq2[K, V]) (next func() (K, V, bool), stop func()) {
	type pair struct {
		k K
		v V
	}
	const batch = 256
	// Room for a whole List page and more: the rows arrive a page at a
	// time, and a producer blocked on a full channel is not fetching the
	// next page, so with less the database and the checks take turns
	// instead of running at the same time.
	ch := make(chan []pair, MaxListLimit/batch+8)
	done := make(chan struct{})
	// send hands b over unless stop was called, which wins over a free slot.
	send := func(b []pair) bool {
		select {
		case <-done:
			return false
		default:
		}
		select {
		case ch <- b:
			return true
		case <-done:
			return false
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(ch)
		b := make([]pair, 0, batch)
		for k, v := range seq {
			b = append(b, pair{k, v})
			if len(b) < batch {
				continue
			}
			if !send(b) {
				return
			}
			b = make([]pair, 0, batch)
		}
		send(b) // the rest, maybe none: next skips an empty batch
	})
	var cur []pair
	next = func() (K, V, bool) {
		for len(cur) == 0 {
			b, ok := <-ch
			if !ok {
				var p pair
				return p.k, p.v, false
			}
			cur = b
		}
		p := cur[0]
		cur = cur[1:]
		return p.k, p.v, true
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
	return next, stop
}

// sigJob is one signature for the workers to check.
type sigJob struct {
	index int64
	e     Entry
}

func (a *Audit) add(index, id int64, format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	max := a.MaxFindings
	if max == 0 {
		max = 1000
	}
	if len(a.Findings) >= max {
		a.Truncated = true
		return
	}
	a.Findings = append(a.Findings, Finding{Index: index, EntryID: id, Problem: fmt.Sprintf(format, args...)})
}

// peek returns the current row, reading one if needed; nil at the end.
func (a *Audit) peek() *auditRow {
	if a.row == nil && a.rowErr == nil && a.next != nil {
		e, err, ok := a.next()
		switch {
		case !ok:
			a.next = nil
		case err != nil:
			a.rowErr = err
		default:
			a.row = &e
		}
	}
	return a.row
}

// Leaf checks one log leaf (translog.Entry.Leaf at index); leaves of other
// kinds than signatures, and leaves that do not decode (translog.Verify
// reports those), are skipped.
func (a *Audit) Leaf(index int64, raw []byte) {
	if raw == nil {
		return
	}
	leaf, err := translog.DecodeLeaf(raw)
	if err != nil || leaf.Kind != translog.KindSignature {
		return
	}
	a.Signatures++
	// The common case: the next row encodes to exactly the logged payload,
	// so it is the logged record, field for field (the encoding is
	// canonical and covers every field but log_index). One encode is
	// several times cheaper than decoding the payload and checking that it
	// is canonical; anything else takes the path that names the problem.
	if ar := a.peek(); ar != nil && ar.e.ID > a.lastID && bytes.Equal(ar.enc, leaf.Payload) {
		r := ar.e
		a.row = nil
		a.lastID = r.ID
		a.checkSignature(index, r)
		if r.LogIndex != index {
			a.add(index, r.ID, "the entry names leaf %d, not this one", r.LogIndex)
		}
		return
	}
	logged, err := DecodeSignature(leaf.Payload)
	if err != nil {
		a.add(index, 0, "signature payload does not decode: %v", err)
		return
	}
	if logged.ID <= a.lastID {
		a.add(index, logged.ID, "records entry %d after entry %d: entry ids must grow with the index", logged.ID, a.lastID)
		return
	}
	a.lastID = logged.ID
	a.checkSignature(index, logged)
	for r := a.peek(); r != nil && r.e.ID < logged.ID; r = a.peek() {
		a.unlogged(r.e)
		a.row = nil
	}
	ar := a.peek()
	if ar == nil || ar.e.ID != logged.ID {
		a.add(index, logged.ID, "the ledger has no entry %d (deleted)", logged.ID)
		return
	}
	a.row = nil
	r := ar.e
	if d := Differences(r, logged); len(d) > 0 {
		a.add(index, r.ID, "%s differ from the logged record", strings.Join(d, ", "))
	}
	if r.LogIndex != index {
		a.add(index, r.ID, "the entry names leaf %d, not this one", r.LogIndex)
	}
}

func (a *Audit) unlogged(r Entry) {
	if r.LogIndex >= a.Size {
		a.pending = append(a.pending, Entry{ID: r.ID, LogIndex: r.LogIndex})
		return
	}
	if r.LogIndex == NotLogged {
		a.add(-1, r.ID, "no log leaf records it (inserted behind the service, or recorded before the ledger had a log)")
		return
	}
	a.add(r.LogIndex, r.ID, "names leaf %d, which does not record it (inserted or rewritten behind the service)", r.LogIndex)
}

// checkSignature queues the logged signature for the workers where the
// ledger can check it.
func (a *Audit) checkSignature(index int64, e Entry) {
	if a.Keys == nil || e.Profile != ProfileDigestV1 {
		return
	}
	if a.jobs == nil {
		a.jobs = make(chan sigJob, 1024)
		for range cmp.Or(a.Workers, runtime.GOMAXPROCS(0)) {
			a.wg.Go(func() {
				for j := range a.jobs {
					a.verify(j.index, j.e)
				}
			})
		}
	}
	a.jobs <- sigJob{index, e}
}

// verify checks one signature; it runs on a worker.
func (a *Audit) verify(index int64, e Entry) {
	pub, ok := a.Keys[KeyRef{e.KeyID, e.KeyVersion}]
	switch {
	case !ok:
		a.add(index, e.ID, "signing key %s v%d is unknown", e.KeyID, e.KeyVersion)
	case !ed25519.Verify(pub, e.Statement, e.Signature):
		a.add(index, e.ID, "the Ed25519 signature does not verify over the recorded statement with %s v%d", e.KeyID, e.KeyVersion)
	default:
		a.checked.Add(1)
	}
}

// Finish reports the rows after the last signature leaf (no leaf records
// them), releases the row stream and returns its error, if any. logSize is
// the log's sequenced size read after the rows were: a row recorded after
// the checkpoint names a leaf below it, a forged one may not.
func (a *Audit) Finish(logSize int64) error {
	for r := a.peek(); r != nil; r = a.peek() {
		a.unlogged(r.e)
		a.row = nil
	}
	for _, r := range a.pending {
		if r.LogIndex >= logSize {
			a.add(-1, r.ID, "names leaf %d, beyond the end of the log (%d leaves): inserted behind the service", r.LogIndex, logSize)
		}
	}
	a.stop() // set by NewAudit; the reader has ended, this waits for its goroutine
	if a.jobs != nil {
		close(a.jobs)
		a.wg.Wait()
		a.jobs = nil
	}
	a.Checked = a.checked.Load()
	slices.SortStableFunc(a.Findings, func(x, y Finding) int { return cmp.Compare(x.Index, y.Index) })
	return a.rowErr
}
