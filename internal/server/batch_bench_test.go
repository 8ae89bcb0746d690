package server_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/translog"
)

// The benchmarks below measure work per signature, not speed: run them
// with a fixed -benchtime=Nx under callgrind (instructions of the Go
// process, PostgreSQL excluded) and read the ledger transactions they
// report. Both are independent of the machine's load; timings are not.

// itemwise hides the store's BatchLedger capability: SignBatch then runs
// every item through the single-item path, as before the batch path.
type itemwise struct{ server.Ledger }

// benchEnv is a batch env whose log counts ledger commits.
func benchEnv(b *testing.B, wrapLedger func(*ledger.Store) server.Ledger) (*batchEnv, *atomic.Int64) {
	e := newBatchEnvLedger(b, func(s kms.Signer) kms.Signer { return s }, wrapLedger)
	var commits atomic.Int64
	_, err := e.store.OpenLog(b.Context(), translog.Options{Origin: ledger.DefaultOrigin,
		OnCommit: func(int, bool) { commits.Add(1) }})
	must(b, err)
	return e, &commits
}

// BenchmarkSignBatch signs batches of 100 digest items, on the batch path
// and item by item.
func BenchmarkSignBatch(b *testing.B) {
	for name, wrap := range map[string]func(*ledger.Store) server.Ledger{
		"batch":    func(s *ledger.Store) server.Ledger { return s },
		"itemwise": func(s *ledger.Store) server.Ledger { return itemwise{s} },
	} {
		b.Run(name, func(b *testing.B) {
			e, commits := benchEnv(b, wrap)
			n := 0
			for b.Loop() {
				req := &signerv1.SignBatchRequest{}
				for range 100 {
					n++
					req.Items = append(req.Items, digestItem(fmt.Appendf(nil, "PK bench %d", n), fmt.Sprintf("bench-%d", n)))
				}
				resp, err := e.batch.SignBatch(b.Context(), req)
				must(b, err)
				if r := resp.GetResults()[99]; r.GetError() != nil {
					b.Fatal(r.GetError())
				}
			}
			b.ReportMetric(float64(commits.Load())/float64(b.N), "commits/batch")
		})
	}
}

// BenchmarkSignSmall signs one 1 KiB archive (SignArchive) or the digest
// statement of one (SignDigest) per operation.
func BenchmarkSignSmall(b *testing.B) {
	archive := make([]byte, 1024)
	copy(archive, "PK")
	b.Run("archive-1KiB", func(b *testing.B) {
		e, _ := benchEnv(b, func(s *ledger.Store) server.Ledger { return s })
		n := 0
		for b.Loop() {
			n++
			stream, err := e.signer.SignArchive(b.Context())
			must(b, err)
			must(b, stream.Send(meta("com.example.bench", "1.0.0", fmt.Sprintf("a-%d", n))))
			must(b, stream.Send(chunk(archive)))
			_, err = stream.CloseAndRecv()
			must(b, err)
		}
	})
	b.Run("digest", func(b *testing.B) {
		e, _ := benchEnv(b, func(s *ledger.Store) server.Ledger { return s })
		n := 0
		for b.Loop() {
			n++
			_, err := e.signer.SignDigest(b.Context(), digestReq(archive, fmt.Sprintf("d-%d", n)))
			must(b, err)
		}
	})
}
