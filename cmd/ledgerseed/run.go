package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgcluster"
)

type options struct {
	databaseURL string
	n           int64
	workers     int
	bench       bool
	queries     int
	cpuProfile  string // CPU profile of the whole run, when set
}

// seedKey signs every seeded entry; its public key goes to the audit.
var seedKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

const (
	seedKeyID   = "seed-signing"
	seedCaller  = "seed"
	seedApps    = 1000 // distinct app keys
	seedSerials = 4    // distinct certificate serials / key versions
)

func run(ctx context.Context, o options, out io.Writer) error {
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	url := o.databaseURL
	if url == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			return err
		}
		defer c.Stop(context.WithoutCancel(ctx))
		if url, err = c.CreateDatabase(ctx, "ledgerseed"); err != nil {
			return err
		}
	}
	if err := ledger.Migrate(ctx, url); err != nil {
		return err
	}
	store, err := ledger.Open(ctx, withPool(url, o.workers/4+8))
	if err != nil {
		return err
	}
	defer store.Close()
	start, err := store.Log().Size(ctx)
	if err != nil {
		return err
	}

	began := time.Now()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < o.n && ctx.Err() == nil; i = next.Add(1) - 1 {
				if _, _, err := store.Record(ctx, synthetic(start.N+i)); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return err
	}
	took := time.Since(began)
	fmt.Fprintf(out, "append: %d entries in %s: %.0f entries/s (%d workers, group commit)\n", o.n, took.Round(time.Millisecond), float64(o.n)/took.Seconds(), o.workers)
	if !o.bench {
		return nil
	}
	if err := benchQueries(ctx, store, o.queries, out); err != nil {
		return err
	}
	return benchVerify(ctx, store, out)
}

// synthetic is the i-th seeded entry: a digest-v1 signature by seedKey.
func synthetic(i int64) ledger.Entry {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	s256, s512 := sha256.Sum256(b[:]), sha512.Sum512(b[:])
	stmt := fmt.Appendf(nil, "seed statement %d %x", i, s256)
	kv := int32(i%seedSerials) + 1
	return ledger.Entry{
		AppKey: fmt.Sprintf("com.example.app%d", i%seedApps), Version: fmt.Sprintf("1.%d.%d", i/seedApps%100, i%7),
		Track: []string{ledger.TrackMarketplace, ledger.TrackPrivateBuild}[i%10/9], ArchiveSize: 1 << 20,
		SHA256: s256[:], SHA512: s512[:], KeyID: seedKeyID, KeyVersion: kv, CertSerial: fmt.Sprintf("5eed%02x", kv),
		Signature: ed25519.Sign(seedKey, stmt), Statement: stmt, Profile: ledger.ProfileDigestV1,
		Caller: fmt.Sprintf("%s-%d", seedCaller, i%16), ReviewRef: "seed", IdempotencyKey: fmt.Sprintf("seed-%d", i),
		SignedAt: time.Unix(1_700_000_000+i, 0),
	}
}
