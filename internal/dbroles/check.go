package dbroles

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Querier is what Check needs: a pool, a connection or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Status is what the current database role can do beyond the service role.
type Status struct {
	// User is the role connected as.
	User string
	// Superuser: it can disable any trigger, so the append-only guards
	// protect nothing against its credentials.
	Superuser bool
	// Owns lists tables of the public schema it owns or may act as the
	// owner of (membership of the owning role): an owner can disable their
	// triggers, alter them or drop them.
	Owns []string
}

// Privileged reports whether the role is more than a service role.
func (s Status) Privileged() bool { return s.Superuser || len(s.Owns) > 0 }

// Problem describes what is wrong with the role, for an error message; it
// is empty when nothing is.
func (s Status) Problem() string {
	switch {
	case s.Superuser:
		return fmt.Sprintf("database role %q is a superuser: it can switch off the ledger's append-only triggers", s.User)
	case len(s.Owns) > 0:
		owned := s.Owns
		if len(owned) > 3 {
			owned = append(owned[:3:3], "…")
		}
		return fmt.Sprintf("database role %q owns the ledger's tables (%s): an owner can switch off their append-only triggers", s.User, strings.Join(owned, ", "))
	}
	return ""
}

// Check reports what the connected role is.
func Check(ctx context.Context, q Querier) (Status, error) {
	var s Status
	err := q.QueryRow(ctx, `
		SELECT current_user, r.rolsuper,
		       coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname)
		                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		                  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
		                    AND pg_has_role(current_user, c.relowner, 'MEMBER')), '{}')
		  FROM pg_roles r WHERE r.rolname = current_user`).Scan(&s.User, &s.Superuser, &s.Owns)
	if err != nil {
		return Status{}, fmt.Errorf("dbroles: check the connected role: %w", err)
	}
	return s, nil
}
