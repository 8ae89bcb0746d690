package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/translog"
)

// benchQueries times the first page (100 entries) of each auditor filter.
func benchQueries(ctx context.Context, store *ledger.Store, n int, out io.Writer) error {
	size, err := store.Log().Size(ctx)
	if err != nil {
		return err
	}
	max := size.N
	filters := []struct {
		name string
		make func(r *rand.Rand) ledger.Filter
	}{
		{"app key", func(r *rand.Rand) ledger.Filter {
			return ledger.Filter{AppKey: fmt.Sprintf("com.example.app%d", r.IntN(seedApps))}
		}},
		{"app key + version", func(r *rand.Rand) ledger.Filter {
			return ledger.Filter{AppKey: fmt.Sprintf("com.example.app%d", r.IntN(seedApps)), Version: "1.0." + strconv.Itoa(r.IntN(7))}
		}},
		{"track (page deep in the table)", func(r *rand.Rand) ledger.Filter {
			return ledger.Filter{Track: ledger.TrackPrivateBuild, AfterID: r.Int64N(max)}
		}},
		{"key id + version", func(r *rand.Rand) ledger.Filter {
			return ledger.Filter{KeyID: seedKeyID, KeyVersion: int32(r.IntN(seedSerials)) + 1, AfterID: r.Int64N(max)}
		}},
		{"certificate serial", func(r *rand.Rand) ledger.Filter {
			return ledger.Filter{CertSerial: fmt.Sprintf("5eed%02x", r.IntN(seedSerials)+1), AfterID: r.Int64N(max)}
		}},
		{"archive sha256", func(r *rand.Rand) ledger.Filter { return ledger.Filter{SHA256: synthetic(r.Int64N(max)).SHA256} }},
		{"caller", func(r *rand.Rand) ledger.Filter {
			return ledger.Filter{Caller: fmt.Sprintf("%s-%d", seedCaller, r.IntN(16)), AfterID: r.Int64N(max)}
		}},
		{"time range (1 h)", func(r *rand.Rand) ledger.Filter {
			from := time.Unix(1_700_000_000+r.Int64N(max), 0)
			return ledger.Filter{SignedFrom: from, SignedTo: from.Add(time.Hour)}
		}},
		{"revoked", func(*rand.Rand) ledger.Filter { t := true; return ledger.Filter{Revoked: &t} }},
	}
	r := rand.New(rand.NewPCG(1, 2))
	fmt.Fprintf(out, "queries: first page of 100, %d per filter, over %d entries\n", n, max)
	for _, f := range filters {
		if f.name == "revoked" && !store.TracksRevocations() {
			continue
		}
		lat := make([]time.Duration, 0, n)
		for range n {
			q := f.make(r)
			q.Limit = 100
			t0 := time.Now()
			if _, err := store.List(ctx, q); err != nil {
				return fmt.Errorf("query %s: %w", f.name, err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		fmt.Fprintf(out, "  %-32s p50 %6.2f ms  p99 %6.2f ms\n", f.name, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchVerify runs what `signerctl ledger verify` runs, in process (no
// gRPC): the tree over every leaf and stored hash against a fresh
// checkpoint, the audit of every row, without and with the Ed25519 checks.
func benchVerify(ctx context.Context, store *ledger.Store, out io.Writer) error {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	l, err := store.OpenLog(ctx, translog.Options{Origin: "ledgerseed/bench", Signer: memKey{key}})
	if err != nil {
		return err
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		return err
	}
	v, err := translog.NoteVerifier("ledgerseed/bench", key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	for _, withSigs := range []bool{false, true} {
		audit := ledger.NewAudit(rows(ctx, store))
		audit.Size = cp.Tree.N
		if withSigs {
			audit.Keys = map[ledger.KeyRef]ed25519.PublicKey{}
			for kv := int32(1); kv <= seedSerials; kv++ {
				audit.Keys[ledger.KeyRef{ID: seedKeyID, Version: kv}] = seedKey.Public().(ed25519.PublicKey)
			}
		}
		t0 := time.Now()
		entries := func(yield func(translog.Entry, error) bool) {
			for e, err := range l.Entries(ctx, 0, cp.Tree.N) {
				if err == nil {
					audit.Leaf(e.Index, e.Leaf)
				}
				if !yield(e, err) {
					return
				}
			}
		}
		rep := translog.Verify(entries, translog.VerifyOptions{Origin: "ledgerseed/bench", Verifiers: noteList(v), Checkpoint: cp.Note})
		if err := audit.Finish(cp.Tree.N); err != nil {
			return err
		}
		took := time.Since(t0)
		if !rep.OK() || len(audit.Findings) > 0 {
			return fmt.Errorf("verify found problems: %v %v %v", rep.Problems, rep.Err, audit.Findings)
		}
		fmt.Fprintf(out, "verify (signatures re-checked: %v): %d entries in %s: %.0f entries/s (%d Ed25519 checks)\n",
			withSigs, rep.Entries, took.Round(time.Millisecond), float64(rep.Entries)/took.Seconds(), audit.Checked)
	}
	return nil
}

// rows streams every signatures row in id order.
func rows(ctx context.Context, store *ledger.Store) func(func(ledger.Entry, error) bool) {
	return func(yield func(ledger.Entry, error) bool) {
		for after := int64(0); ; {
			page, err := store.List(ctx, ledger.Filter{AfterID: after, Limit: ledger.MaxListLimit})
			if err != nil {
				yield(ledger.Entry{}, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			after = page[len(page)-1].ID
		}
	}
}

// withPool sets pool_max_conns on a postgres:// URL.
func withPool(raw string, n int) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return raw
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.String()
}
