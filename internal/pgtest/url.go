package pgtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// maxNamePart bounds the part of a database name taken from the test name;
// PostgreSQL identifiers hold at most 63 bytes.
const maxNamePart = 40

// URL creates a fresh, empty database (no migrations applied) for the test
// and returns its URL. The name comes from t.Name() plus a random suffix. It
// skips the test when there is no PostgreSQL, or fails it when CI=true.
func URL(t testing.TB) string {
	t.Helper()
	b, err := server(t)
	switch {
	case errors.Is(err, errNoServer):
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skip(err)
	case err != nil:
		t.Fatal(err)
	}
	name, err := databaseName(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.createDatabase(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context() is already done when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.dropDatabase(ctx, name); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	return u
}

// databaseName turns a test name into a valid, unique database name:
// lower case letters, digits and underscores.
func databaseName(testName string) (string, error) {
	var b strings.Builder
	b.WriteString("t_")
	underscore := true
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 2+maxNamePart {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			underscore = false
		} else if !underscore {
			b.WriteByte('_')
			underscore = true
		}
	}
	suffix, err := randomHex(4)
	if err != nil {
		return "", err
	}
	name := strings.TrimSuffix(b.String(), "_") + "_" + suffix
	return name, nil
}
