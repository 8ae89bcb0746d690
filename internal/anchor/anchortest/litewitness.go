// Package anchortest runs a real C2SP tlog-witness for tests: torchwood's
// litewitness, which verifies the log's signature and consistency proofs
// and cosigns per c2sp.org/tlog-cosignature, installed with go install at
// a pinned version on first use.
package anchortest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
func witnessBinaries(t testing.TB) (litewitness, witnessctl string) {
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

// Litewitness is a running litewitness.
type Litewitness struct {
	// URL is its add-checkpoint prefix, http on loopback.
	URL string
	// VKey is its cosignature/v1 verifier key.
	VKey string

	db, ctl string
}

// Register adds a log to the witness (at size 0) with its note verifier
// key, as its operator does with witnessctl; the witness may be running.
func (w *Litewitness) Register(t testing.TB, origin, ledgerVKey string) {
	t.Helper()
	for _, args := range [][]string{
		{"add-log", "-db", w.db, "-origin", origin},
		{"add-key", "-db", w.db, "-origin", origin, "-key", ledgerVKey},
	} {
		if out, err := exec.Command(w.ctl, args...).CombinedOutput(); err != nil {
			t.Fatalf("witnessctl %s: %v\n%s", args[0], err, out)
		}
	}
}

// StartLitewitness runs litewitness, stopped at the end of the test, with
// a fresh key (served by an in-process ssh-agent, as litewitness
// requires) and no logs (see Register). It skips under -short, and when
// litewitness cannot be installed unless CI=true, where it fails.
func StartLitewitness(t testing.TB) *Litewitness {
	t.Helper()
	lw, ctl := witnessBinaries(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "witness.db")

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
	go func() { // the ssh-agent protocol, over the in-memory keyring
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
	const name = "witness.test/litewitness"
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
	return &Litewitness{URL: "http://" + addr, VKey: vkey, db: db, ctl: ctl}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}
