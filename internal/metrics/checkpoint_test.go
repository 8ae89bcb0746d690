package metrics_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/translog"
)

// TestLedgerCheckpointAlarm: a refusal raises the alarm gauge for its
// reason until a checkpoint is signed again; a transient failure is
// counted but raises no alarm.
func TestLedgerCheckpointAlarm(t *testing.T) {
	m := metrics.New()
	steps := []struct {
		name  string
		size  int64
		err   error
		wants []string
	}{
		{"signed", 12, nil, []string{
			`signer_ledger_checkpoint_size 12`,
			`signer_ledger_checkpoint_refused{reason="diverged"} 0`,
			`signer_ledger_witness_requests_total{result="ok",witness="witness.example/w1"} 1`,
			`signer_ledger_witness_requests_total{result="error",witness="witness.example/w1"} 1`,
		}},
		{"diverged", 0, fmt.Errorf("translog: checkpoint: %w: %w", translog.ErrDiverged, translog.ErrCorrupt), []string{
			`signer_ledger_checkpoint_refused{reason="diverged"} 1`,
			`signer_ledger_checkpoint_refused{reason="corrupt"} 0`,
			`signer_ledger_checkpoint_errors_total{reason="diverged"} 1`,
			`signer_ledger_checkpoint_size 12`,
		}},
		{"database down: the alarm stands", 0, fmt.Errorf("x: %w", translog.ErrUnavailable), []string{
			`signer_ledger_checkpoint_refused{reason="diverged"} 1`,
			`signer_ledger_checkpoint_errors_total{reason="other"} 1`,
		}},
		{"publish", 0, fmt.Errorf("x: %w: %w", translog.ErrPublish, errors.New("disk full")), []string{
			`signer_ledger_checkpoint_refused{reason="diverged"} 0`,
			`signer_ledger_checkpoint_refused{reason="publish"} 1`,
		}},
		{"signed again", 20, nil, []string{
			`signer_ledger_checkpoint_refused{reason="publish"} 0`,
			`signer_ledger_checkpoint_size 20`,
		}},
	}
	m.LedgerWitness("witness.example/w1", nil)
	m.LedgerWitness("witness.example/w1", errors.New("down"))
	for _, s := range steps {
		m.LedgerCheckpoint(s.size, s.err)
		body := scrape(t, m)
		for _, want := range s.wants {
			if !strings.Contains(body, want+"\n") {
				t.Errorf("%s: scrape lacks %q", s.name, want)
			}
		}
	}
}
