package keystore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
)

// TestOrphanedBackendKeyIsLogged: a rotation that fails after making its
// backend key, and then cannot destroy that key, logs one structured
// error naming the key and the backend key's URI (the operator destroys
// it by hand), and no other attribute.
func TestOrphanedBackendKeyIsLogged(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	var buf bytes.Buffer
	s := e.store(t, keystore.Options{Log: slog.New(slog.NewJSONHandler(&buf, nil))})
	if _, err := s.Create(ctx, "marketplace-signing", keystore.RoleArchiveSigning, soft, actor); err != nil {
		t.Fatal(err)
	}
	e.soft.set(func(f *faultBackend) { f.failLoad, f.failDestroy = kms.ErrUnavailable, errInjected })
	if _, err := s.Rotate(ctx, "marketplace-signing", soft, actor); !errors.Is(err, kms.ErrUnavailable) {
		t.Fatalf("Rotate with a new key that does not load: %v, want kms.ErrUnavailable", err)
	}
	_, destroyed := e.soft.counts()
	if len(destroyed) != 1 {
		t.Fatalf("destroy attempts %v, want 1", destroyed)
	}

	var rec struct {
		Level, Msg, Key, Error string
		URI                    string `json:"backend_uri"`
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log has %d records, want 1:\n%s", len(lines), buf.String())
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	var attrs map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &attrs); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(attrs)); !slices.Equal(got, []string{"backend_uri", "error", "key", "level", "msg", "time"}) {
		t.Errorf("log attributes %v", got)
	}
	if rec.Level != "ERROR" || !strings.Contains(rec.Msg, "orphaned backend key") || rec.Key != "marketplace-signing" ||
		rec.URI != destroyed[0].String() || !strings.Contains(rec.Error, errInjected.Error()) {
		t.Errorf("log record %+v, want an ERROR naming key marketplace-signing, backend_uri %s and the cause", rec, destroyed[0])
	}
}
