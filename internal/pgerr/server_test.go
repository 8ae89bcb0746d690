package pgerr_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/pgerr"
	"github.com/appsign/signer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestClassifyServerErrors classifies errors a real PostgreSQL sends, not
// hand-made ones: the SQLSTATEs above are what the server answers.
func TestClassifyServerErrors(t *testing.T) {
	ctx := t.Context()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	missingDB := strings.Replace(url, "/t_", "/missing_t_", 1)
	if missingDB == url {
		t.Fatalf("cannot derive a missing database from %s", url)
	}

	tests := []struct {
		name string
		run  func(t *testing.T) error
		want pgerr.Class
	}{
		{"unique violation", func(t *testing.T) error {
			_, err := conn.Exec(ctx, `INSERT INTO t VALUES (1)`)
			return err
		}, pgerr.UniqueViolation},
		{"write in a read-only transaction (a standby's answer)", func(t *testing.T) error {
			return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO t VALUES (2)`)
				return err
			})
		}, pgerr.Unavailable},
		{"bad statement", func(t *testing.T) error {
			_, err := conn.Exec(ctx, `SELECT * FROM no_such_table`)
			return err
		}, pgerr.Other},
		{"missing database", func(t *testing.T) error {
			c, err := pgx.Connect(ctx, missingDB)
			if err == nil {
				c.Close(ctx)
			}
			return err
		}, pgerr.Other},
		{"session terminated by an administrator", func(t *testing.T) error {
			victim, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer victim.Close(context.WithoutCancel(ctx))
			var ok bool
			if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, victim.PgConn().PID()).Scan(&ok); err != nil || !ok {
				t.Fatalf("terminate: %v, %v", ok, err)
			}
			var one int
			return victim.QueryRow(ctx, `SELECT 1`).Scan(&one)
		}, pgerr.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(t)
			if err == nil {
				t.Fatal("no error")
			}
			if got := pgerr.Classify(err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
