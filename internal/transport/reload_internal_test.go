package transport

import (
	"os"
	"testing"
	"time"

	"github.com/appsign/signer/internal/transport/transporttest"
)

func TestKeyPairReload(t *testing.T) {
	dir := t.TempDir()
	ca := transporttest.NewCA(t, "CA")
	first, second := ca.Server(t), ca.Server(t)
	crt, key := transporttest.WritePair(t, dir, "srv", first)

	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	p, err := newKeyPair(crt, key, clock)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string { return p.current().Leaf.SerialNumber.String() }
	want := func(step string, c interface{ String() string }) {
		t.Helper()
		if got := serial(); got != c.String() {
			t.Fatalf("%s: serving serial %s, want %s", step, got, c)
		}
	}

	want("initial", first.Leaf.SerialNumber)
	transporttest.WritePair(t, dir, "srv", second)
	// Distinct mtimes even on filesystems with coarse timestamps.
	later := now.Add(time.Minute)
	for _, f := range []string{crt, key} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	want("changed files before the interval", first.Leaf.SerialNumber)
	now = now.Add(ReloadInterval)
	want("changed files after the interval", second.Leaf.SerialNumber)

	if err := os.WriteFile(crt, []byte("half-written"), 0o644); err != nil {
		t.Fatal(err)
	}
	now = now.Add(ReloadInterval)
	want("broken renewal keeps the previous pair", second.Leaf.SerialNumber)

	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	transporttest.WritePair(t, dir, "srv", first)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	now = now.Add(ReloadInterval)
	want("renewal with a world-readable key is refused", second.Leaf.SerialNumber)
}
