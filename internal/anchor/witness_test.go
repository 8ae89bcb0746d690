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
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/translog"
)

// litewitnessVersion is the witness the client is tested against:
// filippo.io/torchwood's litewitness, a C2SP tlog-witness that verifies
// consistency proofs and cosigns per c2sp.org/tlog-cosignature.
const litewitnessVersion = "v0.6.1"

var (
	witnessOnce sync.Once
	witnessBin  string
	witnessErr  error
)

// witnessBinaries installs litewitness and witnessctl once per test run
// (go install from the module proxy; cached by the build cache).
func witnessBinaries(t *testing.T) (litewitness, witnessctl string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no litewitness build")
	}
	witnessOnce.Do(func() {
		witnessBin, witnessErr = os.MkdirTemp("", "litewitness-bin-")
		if witnessErr != nil {
			return
		}
		cmd := exec.Command("go", "install",
			"filippo.io/torchwood/cmd/litewitness@"+litewitnessVersion,
			"filippo.io/torchwood/cmd/witnessctl@"+litewitnessVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+witnessBin, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			witnessErr = fmt.Errorf("go install litewitness: %v\n%s", err, out)
		}
	})
	if witnessErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(witnessErr)
		}
		t.Skip(witnessErr)
	}
	return filepath.Join(witnessBin, "litewitness"), filepath.Join(witnessBin, "witnessctl")
}

// liveWitness is a running litewitness for origin.
type liveWitness struct {
	url  string
	vkey string // its cosignature/v1 verifier key
	pub  ed25519.PublicKey
}

// startWitness runs litewitness with a fresh key (served by an in-process
// ssh-agent, as litewitness requires) and the log origin registered with
// the ledger's verifier key.
func startWitness(t *testing.T, ledgerVKey string) *liveWitness {
	t.Helper()
	lw, ctl := witnessBinaries(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "witness.db")
	for _, args := range [][]string{
		{"add-log", "-db", db, "-origin", origin},
		{"add-key", "-db", db, "-origin", origin, "-key", ledgerVKey},
	} {
		if out, err := exec.Command(ctl, args...).CombinedOutput(); err != nil {
			t.Fatalf("witnessctl %s: %v\n%s", args[0], err, out)
		}
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _ = agent.ServeAgent(keyring, c) }()
		}
	}()
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	const name = "witness.test/w1"
	cmd := exec.Command(lw, "-db", db, "-name", name, "-ssh-agent", sock, "-key", ssh.FingerprintSHA256(sshPub), "-listen", addr)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("litewitness exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("litewitness not listening within 30s:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	key := append([]byte{0x04}, pub...)
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	vkey := fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(key))
	return &liveWitness{url: "http://" + addr, vkey: vkey, pub: pub}
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
	lw := startWitness(t, vkey)
	wv, err := anchor.NewCosignatureVerifier(lw.vkey)
	if err != nil {
		t.Fatal(err)
	}
	d, root := newDir(t)
	log := &memLog{}
	var reports []error
	newPublished := func() *anchor.Published {
		p := anchor.New(d, origin, key.vs)
		p.Witnesses = []*anchor.Witness{{URL: lw.url, Verifier: wv}}
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
