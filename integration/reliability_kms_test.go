//go:build reliability

package integration

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
	"github.com/appsign/signer/internal/kms/softkms"
	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/server"
	"github.com/appsign/signer/internal/translog"
)

// kmsAttempts bounds the attempts per KMS call in these tests.
const kmsAttempts = 3

// kmsSigner is a signer whose active key lives in the KMS emulator.
type kmsSigner struct {
	emu     *kmsemu.Server
	client  signerv1.SignerServiceClient
	metrics *metrics.Metrics
	url     string
	addr    string
	keyARN  string // the signing key in the emulator
}

// startKMSSigner serves the signer in-process with an AWS KMS key (in the
// emulator) and a retry policy of kmsAttempts attempts without waiting.
func startKMSSigner(t *testing.T) *kmsSigner {
	t.Helper()
	ctx := t.Context()
	url := pgtest.URL(t)
	must(t, ledger.Migrate(ctx, url))
	store, err := ledger.Open(ctx, url)
	must(t, err)
	t.Cleanup(store.Close)

	m := metrics.New()
	emu, kc := emutest.Start(t, kmsemu.Options{})
	backend, err := awskms.New(awskms.Options{Client: kc, Retry: awscall.Policy{
		MaxAttempts: kmsAttempts, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond,
		OnRetry: func(string) { m.BackendRetry(awskms.Scheme) },
	}})
	must(t, err)
	reg, err := kms.NewRegistry(backend)
	must(t, err)
	reg.OnFault = m.OnFault(nil)
	t.Cleanup(func() { reg.Close() })
	uri, err := backend.CreateKey(ctx, kms.CreateKeyRequest{Name: "reliability-signing", Purpose: "archive-signing"})
	must(t, err)
	signer, err := reg.LoadSigner(ctx, uri)
	must(t, err)

	dir := t.TempDir()
	pki, err := chain.EnsureDevPKI(rand.Reader, dir, time.Now())
	must(t, err)
	caKey, err := softkms.ReadKeyFile(filepath.Join(dir, "keys", "marketplace-ca.key"))
	must(t, err)
	cert, err := chain.NewSigningCertificate(rand.Reader, pki.Intermediate, caKey, signer.Public(), "reliability kms", time.Now(), time.Hour)
	must(t, err)

	// The log signs checkpoints with a software ledger key, so the KMS
	// faults hit signing only and auditors can verify throughout.
	ledgerKeyPath := filepath.Join(dir, "ledger.key")
	_, ledgerPriv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	must(t, softkms.WriteKeyFile(ledgerKeyPath, ledgerPriv))
	softReg, err := kms.NewRegistry(softkms.New(softkms.Options{Dir: dir}))
	must(t, err)
	t.Cleanup(func() { softReg.Close() })
	ledgerKey, err := softReg.LoadSigner(ctx, kms.NewURI(softkms.Scheme, map[string]string{"path": ledgerKeyPath}))
	must(t, err)
	tlog, err := store.OpenLog(ctx, translog.Options{Origin: "reliability.test/ledger", Signer: ledgerKey})
	must(t, err)
	_, err = tlog.Checkpoint(ctx)
	must(t, err)
	go tlog.Publish(ctx, translog.PublishOptions{Interval: time.Second})

	// The key is imported into the key store, as `signer serve` keeps
	// keys: its key leaf lets ledger verify tie every statement to it.
	// This service signs digest statements only: KMS pure-signs at most
	// 4096 bytes, so that is the largest archive the store expects.
	keys := keystore.New(store.Pool(), reg, nil, keystore.Options{OnEvent: store.KeyEventHook(), ArchiveSize: 4096})
	t.Cleanup(func() { _ = keys.Close() })
	_, err = keys.Import(ctx, "kms-signing", keystore.RoleArchiveSigning, uri, cert, "reliability test")
	must(t, err)

	srv, err := server.New(ctx, server.Config{
		Ledger:    store,
		Keys:      server.StoreKeys{Store: keys, Name: "kms-signing"},
		Trust:     server.Trust{Roots: []*x509.Certificate{pki.Root}, Intermediates: []*x509.Certificate{pki.Intermediate}},
		Metrics:   m,
		LedgerLog: tlog,
	})
	must(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go srv.GRPC.Serve(lis)
	t.Cleanup(srv.GRPC.Stop)
	conn := dialPlain(t, lis.Addr().String())
	return &kmsSigner{emu: emu, client: signerv1.NewSignerServiceClient(conn), metrics: m, url: url, addr: lis.Addr().String(), keyARN: signer.URI().Get("key-id")}
}

// digest signs a digest statement for a small fixed archive.
func (k *kmsSigner) digest(ctx context.Context, idem string) (*signerv1.SignDigestResponse, error) {
	archive := []byte("PK " + idem)
	s256, s512 := sha256.Sum256(archive), sha512.Sum512(archive)
	return k.client.SignDigest(ctx, &signerv1.SignDigestRequest{
		AppKey: "com.example.kms", Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE,
		ReviewRef: "reliability", IdempotencyKey: idem, ArchiveSize: int64(len(archive)), Sha256: s256[:], Sha512: s512[:],
	})
}

// retries reads signer_kms_backend_retries_total for the KMS backend.
func (k *kmsSigner) retries(t *testing.T) float64 {
	t.Helper()
	return gauge(t, k.metrics, "signer_kms_backend_retries_total", "backend", awskms.Scheme)
}

// gauge returns the value of the counter or gauge name{label=value} (0 if absent).
func gauge(t *testing.T, m *metrics.Metrics, name, label, value string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	must(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, mm := range f.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return mm.GetCounter().GetValue() + mm.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// TestReliabilityKMSFaults injects throttling, internal errors and slow
// responses into the KMS a key lives in. Short faults are absorbed by a
// bounded number of retries; long ones fail the call with Unavailable or
// DeadlineExceeded after at most kmsAttempts attempts, and a retry with the
// same idempotency key afterwards makes exactly one ledger entry. It ends
// with `signerctl ledger verify` against a checkpoint saved before the
// faults, which also checks every statement's signature with the KMS key.
func TestReliabilityKMSFaults(t *testing.T) {
	k := startKMSSigner(t)
	if _, err := k.digest(t.Context(), "kms-first"); err != nil {
		t.Fatalf("sign before the faults: %v", err)
	}
	audit := newAuditor(t, k.addr)
	saved, _ := audit.save(t, k.addr, k.url)
	cases := []struct {
		name        string
		inject      func()
		deadline    time.Duration
		wantCodes   []codes.Code // empty: the call succeeds
		wantRetries float64      // retries the faulty call makes, exactly
		undo        func()       // puts back what inject changed beyond the emulator's faults
	}{
		{name: "one throttled call is retried", inject: func() { k.emu.Throttle(1) }, wantRetries: 1},
		{name: "two internal errors are retried", inject: func() { k.emu.FailInternal(2) }, wantRetries: 2},
		{name: "throttled beyond the attempts", inject: func() { k.emu.Throttle(-1) },
			wantCodes: []codes.Code{codes.Unavailable}, wantRetries: kmsAttempts - 1},
		{name: "slower than the deadline", inject: func() { k.emu.SetLatency(2 * time.Second) }, deadline: 200 * time.Millisecond,
			wantCodes: []codes.Code{codes.DeadlineExceeded, codes.Unavailable}},
		// A key its owner disabled is not an outage: no retry, and the
		// client is told to act (FailedPrecondition), not to retry.
		{name: "key disabled by its owner", inject: func() { must(t, k.emu.SetKeyEnabled(k.keyARN, false)) },
			wantCodes: []codes.Code{codes.FailedPrecondition}, undo: func() { must(t, k.emu.SetKeyEnabled(k.keyARN, true)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idem := "kms-" + strings.ReplaceAll(tc.name, " ", "-")
			before := k.retries(t)
			tc.inject()
			ctx, cancel := t.Context(), context.CancelFunc(func() {})
			if tc.deadline > 0 {
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
			}
			first, err := k.digest(ctx, idem)
			cancel()
			k.emu.Throttle(0)
			k.emu.FailInternal(0)
			k.emu.SetLatency(0)
			if tc.undo != nil {
				tc.undo()
			}
			if got := status.Code(err); len(tc.wantCodes) == 0 && err != nil || len(tc.wantCodes) > 0 && !containsCode(tc.wantCodes, got) {
				t.Fatalf("sign under fault: %v, want codes %v", err, tc.wantCodes)
			}
			if tc.deadline == 0 {
				if got := k.retries(t) - before; got != tc.wantRetries {
					t.Fatalf("retries: %v, want %v", got, tc.wantRetries)
				}
			}
			again, err := k.digest(t.Context(), idem)
			must(t, err)
			if first != nil && (again.GetEntryId() != first.GetEntryId() || !again.GetReplayed()) {
				t.Fatalf("retry gave entry %d (replayed %v), first call entry %d", again.GetEntryId(), again.GetReplayed(), first.GetEntryId())
			}
		})
	}

	t.Run("concurrent callers retrying through faults", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := range 8 {
			wg.Go(func() {
				for i := range 15 {
					if i%5 == 0 {
						k.emu.Throttle(2)
					}
					idem := fmt.Sprintf("kms-conc-%d-%d", w, i)
					var err error
					for range 5 { // a client's own bounded retries, same key
						if _, err = k.digest(t.Context(), idem); err == nil {
							break
						}
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", idem, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})

	// readLedger fails on two rows for one key; every key above signed once.
	rows := readLedger(t, k.url)
	if want := 1 + len(cases) + 8*15; len(rows) != want {
		t.Fatalf("ledger has %d rows, want %d (one per idempotency key)", len(rows), want)
	}
	checkLogIndexes(t, k.url)
	// Every digest statement's signature is checked against the KMS key.
	if out := audit.verify(t, k.addr, k.url, saved); !strings.Contains(out, fmt.Sprintf("digest-v1 signatures verified: %d", len(rows))) {
		t.Fatalf("ledger verify did not check every digest signature:\n%s", out)
	}
}

func containsCode(cs []codes.Code, c codes.Code) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}
