package ledger_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/pgcluster"
)

// TestReplicationProblems reads the replication state of real clusters: a
// primary alone, with an asynchronous standby, and with a synchronous one.
// Only the last has no problem.
func TestReplicationProblems(t *testing.T) {
	if _, err := pgcluster.FindBinDir(t.Context(), ""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no PostgreSQL: %v", err)
		}
		t.Skipf("no PostgreSQL: %v", err)
	}
	ctx := t.Context()
	primary, err := pgcluster.Start(ctx, pgcluster.Options{Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Stop(context.WithoutCancel(ctx)) })
	url, err := primary.CreateDatabase(ctx, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	store, err := ledger.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	problems := func() []string {
		t.Helper()
		r, err := store.Replication(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r.Problems()
	}
	// Fast mode turns synchronous_commit off: make it the production value.
	if err := primary.Reconfigure(ctx, map[string]string{"synchronous_commit": "on"}); err != nil {
		t.Fatal(err)
	}
	store.Pool().Reset() // sessions read settings at connect time
	if got := problems(); len(got) != 1 || !strings.Contains(got[0], "synchronous_standby_names is empty") {
		t.Fatalf("primary alone: %q", got)
	}

	standby, err := primary.StartStandby(ctx, "s1", pgcluster.Options{Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Stop(context.WithoutCancel(ctx)) })
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := primary.WaitStandby(wctx, "s1", "async"); err != nil {
		t.Fatal(err)
	}
	if got := problems(); len(got) != 1 || !strings.Contains(got[0], "synchronous_standby_names is empty") {
		t.Fatalf("asynchronous standby: %q", got)
	}

	if err := primary.Reconfigure(ctx, map[string]string{"synchronous_standby_names": "FIRST 1 (s1)"}); err != nil {
		t.Fatal(err)
	}
	if err := primary.WaitStandby(wctx, "s1", "sync"); err != nil {
		t.Fatal(err)
	}
	store.Pool().Reset()
	if got := problems(); len(got) != 0 {
		t.Fatalf("synchronous standby: %q", got)
	}

	// The standby is gone: commits would block; say so.
	if err := standby.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for got := problems(); !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "no synchronous standby is connected") }); got = problems() {
		if time.Now().After(deadline) {
			t.Fatalf("standby stopped: %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
