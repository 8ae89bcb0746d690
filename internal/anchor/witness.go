package anchor

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/translog"
)

var (
	// ErrWitnessFork means a witness refused a checkpoint because it does
	// not extend what the witness cosigned before (the consistency proof
	// failed, or another root at the same size): evidence, outside the
	// database, that the log diverged. It wraps translog.ErrDiverged.
	ErrWitnessFork = fmt.Errorf("anchor: a witness refused the checkpoint as inconsistent: %w", translog.ErrDiverged)
	// ErrWitness means a witness could not be reached or refused for
	// another reason (unknown log, key, malformed request, bad cosignature).
	ErrWitness = errors.New("anchor: witness failed")
)

// Prover returns the RFC 6962 consistency proof from the tree of oldSize
// leaves to the tree of newSize (translog.Log.ConsistencyProof).
type Prover func(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error)

// Witness is a client of one C2SP tlog-witness (c2sp.org/tlog-witness):
// it sends checkpoints with consistency proofs to its add-checkpoint
// endpoint and checks the cosignature it returns (c2sp.org/tlog-cosignature).
// It is safe for concurrent use.
type Witness struct {
	// URL is the witness's URL prefix; requests go to URL + "/add-checkpoint".
	URL string
	// Verifier checks the witness's cosignatures (NewCosignatureVerifier).
	Verifier note.Verifier
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client

	mu   sync.Mutex
	size int64 // the tree size the witness last cosigned, as far as we know
}

// Cosign sends cp to the witness with a consistency proof from the size
// the witness last cosigned, and returns the checkpoint note with the
// witness's verified cosignature added. When the witness knows another
// size (it restarted, or another replica sent a checkpoint), it says so
// (409) and the request is repeated once with a proof from that size. A
// witness that already cosigned a larger tree is not an error: cp is
// returned unchanged. A refusal on consistency grounds wraps ErrWitnessFork.
func (w *Witness) Cosign(ctx context.Context, cp translog.Checkpoint, prove Prover) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for attempt := 0; ; attempt++ {
		old := w.size
		if old > cp.Tree.N {
			return cp.Note, nil
		}
		var proof tlog.TreeProof
		if old > 0 && old < cp.Tree.N {
			p, err := prove(ctx, old, cp.Tree.N)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: consistency proof %d→%d: %w", ErrWitness, w.URL, old, cp.Tree.N, err)
			}
			proof = p
		}
		status, body, err := w.post(ctx, addCheckpointBody(old, proof, cp.Note))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrWitness, w.URL, err)
		}
		switch status {
		case http.StatusOK:
			w.size = cp.Tree.N
			return w.checkCosignature(cp, body)
		case http.StatusConflict:
			n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: %s: 409 without a tree size", ErrWitness, w.URL)
			}
			if n == old || attempt > 0 && n <= cp.Tree.N {
				// Same size, another root; or it moved again under us.
				return nil, fmt.Errorf("%w: %s cosigned a tree of %d leaves that checkpoint %d conflicts with", ErrWitnessFork, w.URL, n, cp.Tree.N)
			}
			w.size = n
			if attempt > 1 {
				return nil, fmt.Errorf("%w: %s: tree size keeps changing", ErrWitness, w.URL)
			}
		case http.StatusUnprocessableEntity:
			return nil, fmt.Errorf("%w: %s rejected the consistency proof from %d to %d", ErrWitnessFork, w.URL, old, cp.Tree.N)
		default:
			return nil, fmt.Errorf("%w: %s: HTTP %d: %s", ErrWitness, w.URL, status, firstLine(body))
		}
	}
}

// addCheckpointBody is the add-checkpoint request: "old <size>", the
// proof's hashes in base64 one per line, an empty line, the checkpoint.
func addCheckpointBody(old int64, proof tlog.TreeProof, checkpoint []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(checkpoint)
	return b.Bytes()
}

func (w *Witness) post(ctx context.Context, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(w.URL, "/")+"/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, err
}

// checkCosignature adds the signature lines the witness returned to the
// note and keeps the result only if one of them is a valid cosignature by
// the configured witness key.
func (w *Witness) checkCosignature(cp translog.Checkpoint, lines []byte) ([]byte, error) {
	cosigned := append(bytes.Clone(cp.Note), lines...)
	n, err := note.Open(cosigned, note.VerifierList(w.Verifier))
	if err != nil || len(n.Sigs) == 0 {
		return nil, fmt.Errorf("%w: %s: no valid cosignature by %s in its answer: %v", ErrWitness, w.URL, w.Verifier.Name(), err)
	}
	return cosigned, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}
