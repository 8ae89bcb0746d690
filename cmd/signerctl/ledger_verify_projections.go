package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"iter"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/translog"
)

// projectionCheck recomputes the tables the log's event leaves determine
// (keys, certificates, revocations, published lists, used approvals) and
// compares them with the server's rows; it collects the signing keys and
// certificates the log records, to hold the server's keys against, and
// with archives re-verifies their UPM signatures with them.
type projectionCheck struct {
	p        *ledger.Projector
	keys     *ledger.LogKeys
	archives *ledger.ArchiveCheck
	// next is the index of the next leaf the projector expects.
	next int64
	// unproven counts leaves read past the checkpoint.
	unproven int64
	rows     int
}

func newProjectionCheck(o archiveOptions) (*projectionCheck, error) {
	c := &projectionCheck{p: ledger.NewProjector(), keys: ledger.NewLogKeys()}
	var err error
	c.archives, err = o.archiveCheck(c.keys)
	return c, err
}

// Leaf feeds one leaf of the verified stream (index order).
func (c *projectionCheck) Leaf(index int64, leaf []byte) {
	c.p.Leaf(index, leaf)
	c.keys.Leaf(index, leaf)
	if c.archives != nil {
		c.archives.Leaf(index, leaf)
	}
	c.next = index + 1
}

// finish reads the server's rows and the leaves after the checkpoint up to
// the log size they were read at, and returns every difference; served
// are the signing keys the server presents (nil: not asked).
func (c *projectionCheck) finish(ctx context.Context, client signerv1.LedgerServiceClient, served map[ledger.KeyRef]ed25519.PublicKey) ([]string, error) {
	tables, size, err := projectionRows(ctx, client)
	if err != nil {
		return nil, err
	}
	// Rows may come from events after the signed checkpoint; their leaves
	// are proven by the next run's checkpoint, but are read now so that a
	// revocation made a second ago is not reported as inserted.
	for e, err := range streamLogFrom(ctx, client, c.next, size) {
		if err != nil {
			return nil, err
		}
		c.p.Leaf(e.Index, e.Leaf)
		c.keys.Leaf(e.Index, e.Leaf)
		c.unproven++
	}
	var out []string
	for _, f := range c.p.Compare(tables) {
		out = append(out, f.String())
	}
	for _, rows := range tables {
		c.rows += len(rows)
	}
	findings := c.keys.Findings
	if served != nil {
		findings = append(findings, c.keys.CompareServerKeys(served)...)
	}
	if c.archives != nil {
		findings = append(findings, c.archives.Finish(ctx)...)
	}
	for _, f := range findings {
		out = append(out, f.String())
	}
	return out, nil
}

// summary is the report of the projection and archive checks.
func (c *projectionCheck) summary() string {
	s := fmt.Sprintf("event leaves: %d; table rows recomputed and compared: %d", c.p.Events, c.rows)
	if c.unproven > 0 {
		s += fmt.Sprintf(" (%d leaves past the checkpoint, proven by the next run)", c.unproven)
	}
	if c.archives != nil {
		s += fmt.Sprintf("\nUPM signatures re-verified over archives, with logged certificates chained to the trust bundle: %d", c.archives.Checked)
	}
	return s
}

// projectionRows reads StreamProjectionRows.
func projectionRows(ctx context.Context, client signerv1.LedgerServiceClient) (map[string][]ledger.Row, int64, error) {
	stream, err := client.StreamProjectionRows(ctx, &signerv1.StreamProjectionRowsRequest{})
	if err != nil {
		return nil, 0, rpcError("stream projection rows", err)
	}
	tables := map[string][]ledger.Row{}
	var size int64
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return tables, size, nil
		}
		if err != nil {
			return nil, 0, rpcError("stream projection rows", err)
		}
		size = msg.GetLogSize()
		for _, r := range msg.GetRows() {
			tables[r.GetTable()] = append(tables[r.GetTable()], ledger.Row{Table: r.GetTable(), Key: r.GetKey(),
				Cols: r.GetColumns(), Index: -1, Data: r.GetData()})
		}
	}
}

// streamLogFrom yields the leaves in [start, end) from StreamLogEntries,
// resuming across the server's call deadline like streamLog.
func streamLogFrom(ctx context.Context, client signerv1.LedgerServiceClient, start, end int64) iter.Seq2[translog.Entry, error] {
	if start >= end {
		return func(func(translog.Entry, error) bool) {}
	}
	return streamLogRange(ctx, client, start, end, func(pe *signerv1.LogEntry) translog.Entry {
		return translog.Entry{Index: pe.GetIndex(), Leaf: pe.GetLeaf()}
	})
}
