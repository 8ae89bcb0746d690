package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// MaxListLimit is the largest page List returns.
const MaxListLimit = 1000

// Filter selects entries for List. Empty strings match everything.
type Filter struct {
	AppKey  string
	Version string
	// AfterID pages: List returns entries with id > AfterID, so pass the last
	// ID of the previous page.
	AfterID int64
	// Limit is the page size, 1..MaxListLimit.
	Limit int
}

// List returns up to f.Limit entries matching f, in ascending id order. An
// empty result means there are no more.
func (s *Store) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit < 1 || f.Limit > MaxListLimit {
		return nil, fmt.Errorf("ledger: list: limit %d not in 1..%d: %w", f.Limit, MaxListLimit, ErrInvalidFilter)
	}
	if f.AfterID < 0 {
		return nil, fmt.Errorf("ledger: list: negative after id: %w", ErrInvalidFilter)
	}

	// Only the conditions in use go into the query, so the planner sees the
	// (app_key, version, id) index rather than "$2 = '' OR ..." guards.
	where := []string{"id > $1"}
	args := []any{f.AfterID}
	if f.AppKey != "" {
		args = append(args, f.AppKey)
		where = append(where, "app_key = $"+strconv.Itoa(len(args)))
	}
	if f.Version != "" {
		args = append(args, f.Version)
		where = append(where, "version = $"+strconv.Itoa(len(args)))
	}
	args = append(args, f.Limit)
	query := `SELECT ` + entryColumns + ` FROM signatures WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY id LIMIT $` + strconv.Itoa(len(args))

	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("list", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) { return scanEntry(row) })
	if err != nil {
		return nil, wrap("list", err)
	}
	return entries, nil
}
