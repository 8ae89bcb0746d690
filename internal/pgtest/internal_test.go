package pgtest

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestDatabaseName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9_]{1,63}$`)
	tests := []struct {
		name     string
		testName string
		prefix   string
	}{
		{"plain", "TestRecord", "t_testrecord_"},
		{"subtest", "TestList/by app key", "t_testlist_by_app_key_"},
		{"punctuation collapses", "Test--a..b", "t_test_a_b_"},
		{"long name is cut", strings.Repeat("x", 200), "t_" + strings.Repeat("x", maxNamePart) + "_"},
		{"non-ASCII dropped", "TestÜber/ключ", "t_test_ber_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := databaseName(tt.testName)
			if err != nil {
				t.Fatal(err)
			}
			if !valid.MatchString(got) {
				t.Errorf("databaseName(%q) = %q: not a plain identifier of at most 63 bytes", tt.testName, got)
			}
			if !strings.HasPrefix(got, tt.prefix) || len(got) != len(tt.prefix)+8 {
				t.Errorf("databaseName(%q) = %q, want %q + 8 hex digits", tt.testName, got, tt.prefix)
			}
			if again, _ := databaseName(tt.testName); again == got {
				t.Errorf("two names for %q are both %q", tt.testName, got)
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"url", "postgres://u:p%40ss@db.example:5432/postgres?sslmode=require", "postgres://u:p%40ss@db.example:5432/t_x?sslmode=require"},
		{"url without path", "postgresql://u@localhost", "postgresql://u@localhost/t_x"},
		{"keyword/value", "host=/tmp user=postgres dbname=postgres", "host=/tmp user=postgres dbname=postgres dbname='t_x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withDatabase(tt.in, "t_x")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("withDatabase = %q, want %q", got, tt.want)
			}
			cfg, err := pgx.ParseConfig(got)
			if err != nil {
				t.Fatalf("result does not parse: %v", err)
			}
			if cfg.Database != "t_x" {
				t.Errorf("database = %q, want t_x", cfg.Database)
			}
		})
	}
	if _, err := withDatabase("postgres://u:hunter2@[bad", "t_x"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URL: err = %v, want an error without the password", err)
	}
}

// TestServerBackend runs the $SIGNER_TEST_DATABASE_URL path against a local
// cluster standing in for the external server.
func TestServerBackend(t *testing.T) {
	ctx := t.Context()
	c := Cluster(t)

	b := &serverBackend{adminURL: c.URL("postgres"), what: "test server"}
	url, err := b.createDatabase(ctx, "t_server_backend")
	if err != nil {
		t.Fatalf("createDatabase: %v", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to the new database: %v", err)
	}
	// Left open on purpose: dropDatabase must end it.
	defer conn.Close(context.WithoutCancel(ctx))
	if err := b.dropDatabase(ctx, "t_server_backend"); err != nil {
		t.Fatalf("dropDatabase with a session open: %v", err)
	}
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Error("connected to a dropped database")
	}
	if err := b.close(ctx); err != nil {
		t.Errorf("close of an external server: %v", err)
	}
}
