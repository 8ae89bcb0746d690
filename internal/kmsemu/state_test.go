package kmsemu_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

func TestStatePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.json")
	_, c := emutest.Start(t, kmsemu.Options{StatePath: path})
	id := createKey(t, c, types.KeySpecEccNistEdwards25519)
	if _, err := c.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: aws.String("alias/kept"), TargetKeyId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	pub := func(c *kms.Client) []byte {
		if _, err := c.EnableKey(t.Context(), &kms.EnableKeyInput{KeyId: aws.String("alias/kept")}); err != nil {
			t.Fatal(err)
		}
		out, err := c.GetPublicKey(t.Context(), &kms.GetPublicKeyInput{KeyId: aws.String("alias/kept")})
		if err != nil {
			t.Fatal(err)
		}
		return out.PublicKey
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v", err, fi.Mode())
	}
	// A second server over the same file sees the key, its alias and state.
	_, c2 := emutest.Start(t, kmsemu.Options{StatePath: path})
	d, err := c2.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: &id})
	if err != nil || d.KeyMetadata.KeyState != types.KeyStateDisabled {
		t.Fatalf("reloaded DescribeKey = %v, %v", d, err)
	}
	if string(pub(c)) != string(pub(c2)) {
		t.Fatal("public key changed across reload")
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kmsemu.New(kmsemu.Options{StatePath: path}); err == nil {
		t.Fatal("New accepted a world-readable state file")
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestScheduledDeletion(t *testing.T) {
	// SigV4 dates come from the real clock; start the fake one at now.
	clk := &fakeClock{now: time.Now()}
	srv, c := emutest.Start(t, kmsemu.Options{Clock: clk.Now})
	ctx := t.Context()
	id := createKey(t, c, types.KeySpecEccNistEdwards25519)
	out, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &id, PendingWindowInDays: aws.Int32(7)})
	if err != nil || out.KeyState != types.KeyStatePendingDeletion || *out.PendingWindowInDays != 7 {
		t.Fatalf("ScheduleKeyDeletion = %+v, %v", out, err)
	}
	if _, err := c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &id, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &id, PendingWindowInDays: aws.Int32(3)}, noRetry); err == nil {
		t.Fatal("a 3-day window was accepted")
	}
	// Past the window the key is gone. (Requests would now fail the SigV4
	// clock-skew check against the fake clock, so ask through the Go API.)
	clk.Add(7*24*time.Hour + time.Second)
	if err := srv.SetKeyEnabled(id, true); err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Fatalf("SetKeyEnabled(deleted key) = %v, want NotFoundException", err)
	}
}
