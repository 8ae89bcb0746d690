package anchor_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/anchor/anchortest"
	"github.com/appsign/signer/internal/translog"
)

// memLog is an in-memory log: stored hashes for proofs.
type memLog struct {
	hashes []tlog.Hash
	n      int64
}

func (m *memLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memLog) append(t *testing.T, leaves ...string) tlog.Tree {
	t.Helper()
	for _, l := range leaves {
		stored, err := tlog.StoredHashes(m.n, []byte(l), m)
		if err != nil {
			t.Fatal(err)
		}
		m.hashes = append(m.hashes, stored...)
		m.n++
	}
	root, err := tlog.TreeHash(m.n, m)
	if err != nil {
		t.Fatal(err)
	}
	return tlog.Tree{N: m.n, Hash: root}
}

func (m *memLog) prove(_ context.Context, old, n int64) (tlog.TreeProof, error) {
	return tlog.ProveTree(n, old, m)
}

// signTree signs a checkpoint of tree with key k.
func (k ledgerKey) signTree(t *testing.T, tree tlog.Tree) translog.Checkpoint {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: string(translog.FormatCheckpoint(origin, tree))}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return translog.Checkpoint{Origin: origin, Tree: tree, Note: msg}
}

// TestWitnessCosigns runs the client against a real C2SP tlog-witness
// (litewitness): checkpoints are cosigned as the log grows, the
// cosignatures verify with the witness's key, a client that lost track of
// the witness's size recovers through the 409 answer, and a checkpoint
// that does not extend what the witness cosigned is refused (a rewritten
// history) and not published.
func TestWitnessCosigns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	lv, _ := note.NewVerifier(vkey)
	key := ledgerKey{signer: signer, vs: note.VerifierList(lv)}
	lw := anchortest.StartLitewitness(t)
	lw.Register(t, origin, vkey)
	wv, err := anchor.NewCosignatureVerifier(lw.VKey)
	if err != nil {
		t.Fatal(err)
	}
	d, root := newDir(t)
	log := &memLog{}
	var reports []error
	newPublished := func() *anchor.Published {
		p := anchor.New(d, origin, key.vs)
		p.Witnesses = []*anchor.Witness{{URL: lw.URL, Verifier: wv}}
		p.Prove = log.prove
		p.OnWitness = func(_ *anchor.Witness, err error) { reports = append(reports, err) }
		return p
	}
	pub := newPublished()
	for round, leaves := range [][]string{{"a", "b", "c"}, {"d", "e"}, {"f", "g", "h", "i"}} {
		cp := key.signTree(t, log.append(t, leaves...))
		if round == 2 {
			pub = newPublished() // a restarted service: the witness's size is unknown
		}
		if err := pub.Publish(ctx, cp); err != nil {
			t.Fatalf("Publish %d: %v", cp.Tree.N, err)
		}
		cosigned, err := os.ReadFile(filepath.Join(root, "cosigned", fmt.Sprint(cp.Tree.N)))
		if err != nil {
			t.Fatalf("no cosigned checkpoint %d: %v (witness reports %v)", cp.Tree.N, err, reports)
		}
		n, err := note.Open(cosigned, note.VerifierList(lv, wv))
		if err != nil || len(n.Sigs) != 2 {
			t.Fatalf("cosigned checkpoint %d: %v; want the log's signature and the witness's cosignature", cp.Tree.N, err)
		}
		if ts, err := cosignatureTime(n.Sigs, wv); err != nil || time.Since(ts) > time.Hour || time.Until(ts) > time.Hour {
			t.Errorf("cosignature timestamp %v, %v", ts, err)
		}
	}
	for _, err := range reports {
		if err != nil {
			t.Errorf("witness reported %v", err)
		}
	}

	// The history is rewritten (leaf "b" changed), the tree recomputed and
	// signed: the witness cannot get a consistency proof from the tree it
	// cosigned, refuses, and nothing is published.
	forged := &memLog{}
	tree := forged.append(t, "a", "B", "c", "d", "e", "f", "g", "h", "i", "j")
	pub.Prove = forged.prove
	err = pub.Publish(ctx, key.signTree(t, tree))
	if !errors.Is(err, anchor.ErrWitnessFork) || !errors.Is(err, translog.ErrDiverged) {
		t.Fatalf("Publish of a rewritten history = %v, want ErrWitnessFork (ErrDiverged)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "checkpoints", "10")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused checkpoint was written: %v", err)
	}
	if latest, err := pub.Latest(ctx); err != nil || latest.Tree.N != 9 {
		t.Errorf("latest = %v, %v; want 9", latest.Tree, err)
	}
}

// cosignatureTime returns the timestamp of v's cosignature among sigs.
func cosignatureTime(sigs []note.Signature, v note.Verifier) (time.Time, error) {
	for _, s := range sigs {
		if s.Name == v.Name() && s.Hash == v.KeyHash() {
			b, err := base64.StdEncoding.DecodeString(s.Base64)
			if err != nil || len(b) < 12 {
				return time.Time{}, errors.New("malformed cosignature")
			}
			return time.Unix(int64(binary.BigEndian.Uint64(b[4:12])), 0), nil
		}
	}
	return time.Time{}, errors.New("no cosignature")
}

// TestWitnessDown: an unreachable witness is reported, and does not stop
// the checkpoint from being published (witnesses are optional; the
// directory is the anchor).
func TestWitnessDown(t *testing.T) {
	t.Parallel()
	key := newLedgerKey(t)
	d, _ := newDir(t)
	var mu sync.Mutex
	var reported []error
	p := anchor.New(d, origin, key.vs)
	wv, err := anchor.NewCosignatureVerifier(testWitnessVKey(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Witnesses = []*anchor.Witness{{URL: "http://" + freeAddr(t), Verifier: wv}}
	p.Prove = (&memLog{}).prove
	p.OnWitness = func(_ *anchor.Witness, err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }
	cp := key.checkpoint(t, 4, "a")
	if err := p.Publish(t.Context(), cp); err != nil {
		t.Fatalf("Publish with the witness down = %v", err)
	}
	if latest, err := p.Latest(t.Context()); err != nil || latest.Tree != cp.Tree {
		t.Errorf("latest = %v, %v", latest.Tree, err)
	}
	if len(reported) != 1 || !errors.Is(reported[0], anchor.ErrWitness) {
		t.Errorf("OnWitness saw %v, want one ErrWitness", reported)
	}
}

func testWitnessVKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte{0x04}, pub...)
	h := sha256.Sum256(append([]byte("witness.test/down\n"), key...))
	return fmt.Sprintf("witness.test/down+%08x+%s", binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(key))
}

func TestNewCosignatureVerifierRejects(t *testing.T) {
	t.Parallel()
	good := testWitnessVKey(t)
	name, rest, _ := strings.Cut(good, "+")
	hash, key, _ := strings.Cut(rest, "+")
	raw, _ := base64.StdEncoding.DecodeString(key)
	ed := append([]byte{0x01}, raw[1:]...)
	for _, bad := range []string{
		"",
		name,
		name + "+" + hash,
		name + "+zzzzzzzz+" + key,
		name + "+00000000+" + key, // wrong hash
		name + "+" + hash + "+" + base64.StdEncoding.EncodeToString(ed), // an Ed25519 (0x01) key
		"bad name+" + hash + "+" + key,
	} {
		if _, err := anchor.NewCosignatureVerifier(bad); err == nil {
			t.Errorf("NewCosignatureVerifier(%q) accepted", bad)
		}
	}
	if _, err := anchor.NewCosignatureVerifier(good); err != nil {
		t.Errorf("NewCosignatureVerifier(good) = %v", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}
