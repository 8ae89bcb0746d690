package translog_test

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/appsign/signer/internal/translog"
)

// benchPayload is about the size of a signature event's canonical form.
var benchPayload = bytes.Repeat([]byte("x"), 256)

// BenchmarkAppend appends from many concurrent callers, spread over one or
// three Logs (replicas) on one database, and reports entries/s.
func BenchmarkAppend(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		for _, callers := range []int{64, 256} {
			b.Run(fmt.Sprintf("replicas=%d/callers=%d", replicas, callers), func(b *testing.B) {
				url := newDB(b)
				logs := make([]*translog.Log, replicas)
				for r := range logs {
					logs[r] = openLog(b, newPool(b, url), translog.Options{})
				}
				var next atomic.Int64
				b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					l := logs[next.Add(1)%int64(replicas)]
					for pb.Next() {
						if _, err := l.Append(b.Context(), translog.KindSignature, benchPayload); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkVerify verifies an intact 100,000-leaf log served from memory
// and reports entries/s.
func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	f := newFixture(b, n, n/4, n/2, n)
	opts := f.options(b, n, n/4, n/2)
	b.ResetTimer()
	for range b.N {
		if rep := translog.Verify(seq(f.entries), opts); !rep.OK() {
			b.Fatalf("problems: %v", rep.Problems)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkVerifyFromDB reads a 50,000-leaf log with Log.Entries and
// verifies it, as the API and signerctl would together, and reports
// entries/s.
func BenchmarkVerifyFromDB(b *testing.B) {
	const n = 50_000
	key := newMemSigner("ledger")
	l := openLog(b, newPool(b, newDB(b)), translog.Options{Signer: key})
	done := make(chan error, 64)
	for w := range 64 {
		go func() {
			for i := w; i < n; i += 64 {
				if _, err := l.Append(b.Context(), translog.KindSignature, benchPayload); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 64 {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	cp, err := l.Checkpoint(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	opts := translog.VerifyOptions{Origin: testOrigin, Verifiers: key.verifiers(b), Checkpoint: cp.Note}
	b.ResetTimer()
	for range b.N {
		if rep := translog.Verify(l.Entries(b.Context(), 0, n), opts); !rep.OK() {
			b.Fatalf("problems: %v, %v", rep.Problems, rep.Err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
