package service

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/translog"
)

// ledgerSigner resolves keys.ledger: a key URI (it has a colon) is loaded
// from its backend, anything else names a keystore key. Empty means none.
func ledgerSigner(ctx context.Context, keys *keystore.Store, reg *kms.Registry, name string) (kms.Signer, error) {
	switch {
	case name == "":
		return nil, nil
	case strings.Contains(name, ":"):
		uri, err := kms.ParseURI(name)
		if err != nil {
			return nil, fmt.Errorf("keys.ledger: %w", err)
		}
		s, err := reg.LoadSigner(ctx, uri)
		if err != nil {
			return nil, fmt.Errorf("keys.ledger: %w", err)
		}
		return s, nil
	}
	loaded, err := keys.Active(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("keys.ledger %q: %w", name, err)
	}
	return loaded.Signer, nil
}

// startLedgerLog gives the store's log its origin and ledger key, the
// directory it publishes checkpoints to (empty: none), and starts the
// checkpoint publisher, which stops when ctx ends or the store closes.
func startLedgerLog(ctx context.Context, store *ledger.Store, origin string, signer kms.Signer, checkpointDir string, witnesses []config.Witness, interval time.Duration, log *slog.Logger, m *metrics.Metrics) (*translog.Log, error) {
	opts := translog.Options{Origin: origin, Signer: signer, Logger: log, OnCommit: m.LedgerCommit, OnCheckpoint: m.LedgerCheckpoint}
	var pub *anchor.Published
	if signer != nil && checkpointDir != "" {
		var err error
		if pub, err = openAnchor(origin, signer, checkpointDir, witnesses, log, m); err != nil {
			return nil, err
		}
		opts.Anchor = pub
	}
	l, err := store.OpenLog(ctx, opts)
	if err != nil {
		return nil, err
	}
	if pub != nil {
		pub.Prove = l.ConsistencyProof
	}
	if signer == nil {
		log.Warn("no ledger key (keys.ledger): this replica appends but signs no checkpoints")
		return l, nil
	}
	if opts.Anchor == nil {
		log.Warn("no ledger.checkpoint_dir: checkpoints are kept only in the database, whose administrator can cut the log back unnoticed by the service")
	}
	// A first checkpoint at once, so auditors have one before the first append.
	// A log that fails its checks (translog.ErrCorrupt, ErrDiverged) gets no
	// signature, but is still served, so auditors can find what is wrong.
	if _, err := l.Checkpoint(ctx); err != nil {
		log.Error("ledger checkpoint refused", "error", err.Error())
	}
	go l.Publish(ctx, translog.PublishOptions{Interval: interval})
	return l, nil
}

// openAnchor returns the published checkpoints in dir, trusted when
// signed by the ledger key, cosigned by the witnesses if any.
func openAnchor(origin string, signer kms.Signer, dir string, witnesses []config.Witness, log *slog.Logger, m *metrics.Metrics) (*anchor.Published, error) {
	d, err := anchor.NewDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ledger.checkpoint_dir: %w", err)
	}
	v, err := translog.NoteVerifier(origin, signer.Public())
	if err != nil {
		return nil, fmt.Errorf("ledger key: %w", err)
	}
	pub := anchor.New(d, origin, note.VerifierList(v))
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment},
	}
	for i, w := range witnesses {
		wv, err := anchor.NewCosignatureVerifier(w.Key)
		if err != nil {
			return nil, fmt.Errorf("ledger.witnesses[%d].key: %w", i, err)
		}
		pub.Witnesses = append(pub.Witnesses, &anchor.Witness{URL: w.URL, Verifier: wv, Client: client})
	}
	pub.OnWitness = func(w *anchor.Witness, err error) {
		m.LedgerWitness(w.Verifier.Name(), err)
		if err != nil {
			log.Warn("witness did not cosign the checkpoint", "witness", w.Verifier.Name(), "error", err.Error())
		}
	}
	return pub, nil
}

// withLedgerHealth adds the ledger's checkpoint state to a health check:
// while the log refuses to sign checkpoints (it diverges from the
// published ones, or those are unreachable) the service is NOT_SERVING.
func withLedgerHealth(next func(context.Context) error, l *translog.Log) func(context.Context) error {
	return func(ctx context.Context) error {
		if next != nil {
			if err := next(ctx); err != nil {
				return err
			}
		}
		if l == nil {
			return nil
		}
		if err := l.CheckpointRefusal(); err != nil {
			return fmt.Errorf("ledger checkpoints refused: %w", err)
		}
		return nil
	}
}
