package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/appsign/signer/internal/pgcluster"
	"github.com/appsign/signer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds signer and signerctl once per test run.
func binaries(t testing.TB) (signer, signerctl string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "signer-it-bin-")
		if buildErr != nil {
			return
		}
		for _, name := range []string{"signer", "signerctl"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "../cmd/"+name)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = errors.New("go build " + name + ": " + err.Error() + "\n" + string(out))
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "signer"), filepath.Join(binDir, "signerctl")
}

// requireTool skips (or fails under CI=true) when a command is missing.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found; CI needs it (make deps installs it)", name)
		}
		t.Skipf("%s not found", name)
	}
	return p
}

// devServer is a running `signer dev`.
type devServer struct {
	Addr    string
	DataDir string
	cmd     *exec.Cmd
	stderr  *lockedWriter
	done    chan error
}

var listenRE = regexp.MustCompile(`signer (?:dev listening|serving) on (\S+)`)

// startDev runs `signer dev` on a free loopback port with extra flags and
// waits until it serves. The process is stopped with SIGTERM at cleanup.
func startDev(t testing.TB, extra ...string) *devServer {
	t.Helper()
	dataDir := t.TempDir()
	return startSigner(t, nil, dataDir, append([]string{"dev", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, extra...)...)
}

// startSigner runs the signer binary with args (and extra environment)
// and waits until it prints the address it serves on.
func startSigner(t testing.TB, env []string, dataDir string, args ...string) *devServer {
	t.Helper()
	signer, _ := binaries(t)
	d := &devServer{DataDir: dataDir, stderr: &lockedWriter{}, done: make(chan error, 1)}
	d.cmd = exec.Command(signer, args...)
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stderr = d.stderr
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { d.done <- d.cmd.Wait() }()
	select {
	case d.Addr = <-addr:
	case err := <-d.done:
		t.Fatalf("signer exited before serving: %v\nstderr:\n%s", err, d.stderr)
	case <-time.After(90 * time.Second):
		d.cmd.Process.Kill()
		t.Fatalf("signer dev did not start within 90s\nstderr:\n%s", d.stderr)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("signer dev did not stop cleanly: %v\nstderr:\n%s", err, d.stderr)
		}
	})
	return d
}

// Stop sends SIGTERM and waits for a clean exit.
func (d *devServer) Stop() error {
	if d.cmd.ProcessState != nil {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		return err
	case <-time.After(60 * time.Second):
		d.cmd.Process.Kill()
		return errors.New("no exit within 60s of SIGTERM")
	}
}

// lockedWriter collects a child's output while tests read it.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// result of one command run.
type result struct {
	code           int
	stdout, stderr string
}

// run executes a command with a deadline and returns its exit status and output.
func run(t testing.TB, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return r
}

// signerctl runs signerctl and returns its result.
func signerctl(t testing.TB, args ...string) result {
	t.Helper()
	_, ctl := binaries(t)
	return run(t, ctl, args...)
}

// mustSignerctl runs signerctl and fails the test unless it exits 0.
func mustSignerctl(t testing.TB, args ...string) string {
	t.Helper()
	r := signerctl(t, args...)
	if r.code != 0 {
		t.Fatalf("signerctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// requirePostgresBinaries skips (or fails under CI=true) without PostgreSQL
// server binaries, which `signer dev` needs to start its own database.
func requirePostgresBinaries(t testing.TB) {
	t.Helper()
	if _, err := pgcluster.FindBinDir(t.Context(), ""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL server binaries not found; CI needs them (make deps installs them): %v", err)
		}
		t.Skipf("PostgreSQL server binaries not found: %v", err)
	}
}
