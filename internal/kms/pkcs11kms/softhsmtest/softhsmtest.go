// Package softhsmtest gives tests a fresh SoftHSM2 token and the
// pkcs11kms.Options to reach it, for pkcs11kms's own tests and for
// integration tests that run the signer against an HSM.
//
// # One SoftHSM2 configuration per test process
//
// SoftHSM2 reads SOFTHSM2_CONF, an environment variable and so process
// state, when the module is initialized, and it lists the tokens of its
// token directory only then. So the first NewToken of a process writes a
// private configuration (token directory inside a temporary directory) and
// sets SOFTHSM2_CONF for the whole process, child processes included; later
// calls reuse it. Tokens created while a pkcs11kms backend of the process
// keeps the module initialized are not visible to that module: create the
// tokens a test needs before opening backends (pkcs11kms finalizes the
// module when its last backend closes, so consecutive tests are fine).
//
// When SoftHSM2 is missing the helpers skip the test, unless CI=true, where
// they fail it.
package softhsmtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms/pkcs11kms"
)

// modulePaths are where Debian and Ubuntu install the SoftHSM2 module.
var modulePaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
}

// Token is a freshly initialized SoftHSM2 token.
type Token struct {
	// Options reach the token: module path, token label, a 0600 PIN file.
	Options pkcs11kms.Options
	// Label is the token label (also in Options.TokenLabel).
	Label string
	// UserPIN and SOPIN are the token's PINs, for secret scans in tests.
	UserPIN, SOPIN string
	// Cleanup deletes the token; it also runs at the end of the test.
	// Close every backend using the token first.
	Cleanup func()
}

// proc is the process's SoftHSM2 configuration (see the package doc).
var proc struct {
	mu   sync.Mutex
	dir  string // holds softhsm2.conf and tokens/
	live int    // tokens not yet cleaned up
	made int    // tokens made in this process, for unique labels
}

// unavailable skips the test, or fails it when CI=true.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("softhsmtest: %s (CI=true: SoftHSM2 is required; apt-get install softhsm2)", msg)
	}
	t.Skipf("softhsmtest: %s; install softhsm2 to run this test", msg)
}

// Module returns the path of the SoftHSM2 PKCS#11 module: $SOFTHSM2_MODULE
// if set, else the first of the usual Debian paths that exists.
func Module(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SOFTHSM2_MODULE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			unavailable(t, "SOFTHSM2_MODULE=%s: %v", p, err)
		}
		return p
	}
	for _, p := range modulePaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	unavailable(t, "no SoftHSM2 module at %v (set SOFTHSM2_MODULE)", modulePaths)
	return ""
}

// NewToken initializes a token for the test and returns the options that
// reach it and a cleanup function (also registered with t.Cleanup).
func NewToken(t testing.TB) (pkcs11kms.Options, func()) {
	t.Helper()
	tok := New(t)
	return tok.Options, tok.Cleanup
}

// New initializes a token labelled "signer-test" (then "signer-test-2",
// ... within one process) with random PINs, running softhsm2-util, and
// writes the user PIN to a 0600 file in t.TempDir().
func New(t testing.TB) *Token {
	t.Helper()
	module := Module(t)
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		unavailable(t, "softhsm2-util not found")
	}
	proc.mu.Lock()
	defer proc.mu.Unlock()
	if err := configure(); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	proc.made++
	label := "signer-test"
	if proc.made > 1 {
		label = fmt.Sprintf("signer-test-%d", proc.made)
	}
	userPIN, soPIN := randomPIN(t), randomPIN(t)
	out, err := exec.Command(util, "--init-token", "--free", "--label", label,
		"--so-pin", soPIN, "--pin", userPIN).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsmtest: softhsm2-util --init-token: %v\n%s", err, out)
	}
	proc.live++
	pinFile := filepath.Join(t.TempDir(), "user.pin")
	if err := os.WriteFile(pinFile, []byte(userPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	cleanup := func() {
		once.Do(func() { deleteToken(t, util, label) })
	}
	t.Cleanup(cleanup)
	return &Token{
		Options: pkcs11kms.Options{ModulePath: module, TokenLabel: label, PINFile: pinFile},
		Label:   label, UserPIN: userPIN, SOPIN: soPIN, Cleanup: cleanup,
	}
}

// configure writes the process's SoftHSM2 configuration once (again after
// the last token was cleaned up) and points SOFTHSM2_CONF at it.
// The caller holds proc.mu.
func configure() error {
	if proc.dir == "" {
		dir, err := os.MkdirTemp("", "softhsmtest-")
		if err != nil {
			return err
		}
		proc.dir = dir
	}
	tokens := filepath.Join(proc.dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(proc.dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return err
	}
	return os.Setenv("SOFTHSM2_CONF", conf)
}

func deleteToken(t testing.TB, util, label string) {
	proc.mu.Lock()
	defer proc.mu.Unlock()
	if out, err := exec.Command(util, "--delete-token", "--token", label).CombinedOutput(); err != nil {
		t.Errorf("softhsmtest: delete token %s: %v\n%s", label, err, out)
	}
	proc.live--
	if proc.live == 0 {
		// Keep the path (SOFTHSM2_CONF names it) but leave nothing behind.
		if err := os.RemoveAll(proc.dir); err != nil {
			t.Errorf("softhsmtest: %v", err)
		}
	}
}

func randomPIN(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// CloseAllSessions closes every session of the process on the token, behind
// the back of any backend using it, the way a token reset would: the login
// state ends and object handles become invalid. Recovery tests use it.
func CloseAllSessions(t testing.TB, opts pkcs11kms.Options) {
	t.Helper()
	ctx := pkcs11.New(opts.ModulePath)
	if ctx == nil {
		t.Fatalf("softhsmtest: cannot load %s", opts.ModulePath)
	}
	defer ctx.Destroy()
	initErr := ctx.Initialize()
	switch {
	case initErr == nil:
		// Nobody in the process had the module open: there is no session to close.
		defer ctx.Finalize()
	case !errors.Is(initErr, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)):
		t.Fatalf("softhsmtest: initialize: %v", initErr)
	}
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		t.Fatalf("softhsmtest: slots: %v", err)
	}
	for _, s := range slots {
		if ti, err := ctx.GetTokenInfo(s); err == nil && ti.Label == opts.TokenLabel {
			if err := ctx.CloseAllSessions(s); err != nil {
				t.Fatalf("softhsmtest: close all sessions: %v", err)
			}
			return
		}
	}
	t.Fatalf("softhsmtest: no token %q", opts.TokenLabel)
}
