package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// digestInput is the input size of the digest and batch modes against
// Transit: a SHA-256 digest, what SignDigest and a batch's items carry.
const digestInput = 32

// transitLoad makes the Transit requests of one run.
type transitLoad struct {
	opts     options
	client   *transitClient
	keys     map[string]ed25519.PublicKey
	seed     []byte       // random bytes each input starts from
	verified atomic.Int64 // signatures checked against the public key
}

// runTransit loads the peer with the same callers, budget, duration and
// report as the signer modes.
func runTransit(ctx context.Context, o options, stdout io.Writer) error {
	token, err := o.transit.token()
	if err != nil {
		return err
	}
	c := newTransitClient(o, token)
	defer c.close()
	keys, err := c.publicKeys(ctx)
	if err != nil {
		return err
	}
	l := &transitLoad{opts: o, client: c, keys: keys, seed: make([]byte, max(o.size, digestInput))}
	if _, err := rand.Read(l.seed); err != nil {
		return err
	}
	st, elapsed := drive(ctx, o, func(stop context.Context, i int, b *budget, st *stats) {
		l.loop(stop, ctx, i, b, st)
	})
	// stderr, so that --format json stays one document: how much of what
	// was measured was checked to be real signatures by the key.
	fmt.Fprintf(os.Stderr, "signerload: %s: verified %d of %d signatures with key %q's public key\n",
		targetTransit, l.verified.Load(), st.sigs, o.transit.key)
	return report(stdout, o, st, elapsed)
}

// loop sends requests with ctx until stop ends or the budget runs out.
func (l *transitLoad) loop(stop, ctx context.Context, caller int, b *budget, st *stats) {
	for seq := 0; stop.Err() == nil && ctx.Err() == nil && b.take(); seq++ {
		inputs := l.inputs(caller, seq)
		start := time.Now()
		results, err := l.client.sign(ctx, inputs)
		d := time.Since(start)
		if ctx.Err() != nil {
			return // interrupted mid-call: neither a result nor an error
		}
		n := 0
		if err == nil {
			n, err = l.check(inputs, results, seq%l.opts.transit.verifyEvery == 0)
		}
		st.add(d, n, int64(n)*l.itemBytes(), err)
	}
}

// inputs are one call's messages, each distinct (caller, call and item
// numbers over random bytes), so that no layer can answer from a cache.
func (l *transitLoad) inputs(caller, seq int) [][]byte {
	size, count := digestInput, 1
	switch l.opts.mode {
	case "archive":
		size = int(l.opts.size)
	case "batch":
		count = l.opts.batchSize
	}
	out := make([][]byte, count)
	for i := range out {
		in := make([]byte, size)
		copy(in, l.seed)
		var id [12]byte
		binary.BigEndian.PutUint32(id[0:], uint32(caller))
		binary.BigEndian.PutUint32(id[4:], uint32(seq))
		binary.BigEndian.PutUint32(id[8:], uint32(i))
		copy(in[max(0, size-len(id)):], id[:])
		out[i] = in
	}
	return out
}

func (l *transitLoad) itemBytes() int64 {
	if l.opts.mode == "archive" {
		return l.opts.size
	}
	return 0
}

// check counts the signed items. Every signature must have the shape of
// an Ed25519 signature by a known key version; when verify is set, each
// one must also verify over its input, or the call counts as an error
// (DataLoss: the peer returned something that is not its signature).
// The first failed item's error is the call's, as in batch mode.
func (l *transitLoad) check(inputs [][]byte, results []transitSigned, verify bool) (int, error) {
	n := 0
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	for i, r := range results {
		if r.Error != "" {
			fail(status.Error(codes.Unknown, "transit: item "+fmt.Sprint(i)+": "+r.Error))
			continue
		}
		ver, sig, err := parseTransitSignature(r.Signature)
		if err != nil {
			fail(status.Error(codes.DataLoss, err.Error()))
			continue
		}
		pub, ok := l.keys[ver]
		if !ok {
			fail(status.Errorf(codes.DataLoss, "transit: item %d: signed by key version %s, which the key did not list", i, ver))
			continue
		}
		if verify {
			if !ed25519.Verify(pub, inputs[i], sig) {
				fail(status.Errorf(codes.DataLoss, "transit: item %d: signature does not verify with key version %s", i, ver))
				continue
			}
			l.verified.Add(1)
		}
		n++
	}
	return n, first
}
