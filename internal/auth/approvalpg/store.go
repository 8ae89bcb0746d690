package approvalpg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/pgerr"
)

// Store is a PostgreSQL auth.Approvals. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts auth.ApprovalOptions
	// OnRequest, OnApprove and OnConsume, if set, run inside the
	// transaction that records a request, its approval and its use; an
	// error rolls that step back. The ledger logs each step there
	// (ledger.Store.ApprovalHooks), so that `ledger verify` can prove who
	// asked, who agreed, to which parameters (ParamsSHA256), and that the
	// use matches both, whatever was later done to the rows.
	OnRequest, OnApprove, OnConsume func(ctx context.Context, tx pgx.Tx, a auth.Approval) error
}

var _ auth.Approvals = (*Store)(nil)

// New returns a store on pool, whose database has the signer's migrations
// applied (ledger.Migrate).
func New(pool *pgxpool.Pool, opts auth.ApprovalOptions) *Store {
	return &Store{pool: pool, opts: opts.WithDefaults()}
}

const columns = `id, action, target, reason, params_sha256, requested_by, requested_at, expires_at,
	approved_by, approved_at, consumed_at`

// Request implements auth.Approvals.
func (s *Store) Request(ctx context.Context, by auth.Identity, req auth.ApprovalRequest) (auth.Approval, error) {
	a, err := auth.NewApproval(by, req, s.opts)
	if err != nil {
		return auth.Approval{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO approvals (id, action, target, reason, params_sha256, requested_by, requested_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			a.ID, a.Action, a.Target, a.Reason, a.ParamsSHA256, a.RequestedBy, a.RequestedAt, a.ExpiresAt); err != nil {
			return err
		}
		return hook(ctx, tx, s.OnRequest, a)
	})
	if err != nil {
		return auth.Approval{}, wrap("request", err)
	}
	return a, nil
}

// hook runs fn, if set, on a in tx.
func hook(ctx context.Context, tx pgx.Tx, fn func(context.Context, pgx.Tx, auth.Approval) error, a auth.Approval) error {
	if fn == nil {
		return nil
	}
	if err := fn(ctx, tx, a); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// Approve implements auth.Approvals.
func (s *Store) Approve(ctx context.Context, by auth.Identity, id string) (auth.Approval, error) {
	var out auth.Approval
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a, err := lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if out, err = a.Approve(by, s.opts); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE approvals SET approved_by = $2, approved_at = $3 WHERE id = $1`,
			id, out.ApprovedBy, out.ApprovedAt); err != nil {
			return err
		}
		return hook(ctx, tx, s.OnApprove, out)
	})
	if err != nil {
		return auth.Approval{}, wrap("approve", err)
	}
	return out, nil
}

// Consume implements auth.Approvals.
func (s *Store) Consume(ctx context.Context, by auth.Identity, id, action, target string) (auth.Approval, error) {
	var out auth.Approval
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = s.ConsumeTx(ctx, tx, by, id, action, target)
		return err
	})
	if err != nil {
		return auth.Approval{}, wrap("consume", err)
	}
	return out, nil
}

// ConsumeTx is Consume inside the caller's transaction: the approval is
// used if and only if tx commits, so the action it authorizes and its use
// are one atomic change.
func (s *Store) ConsumeTx(ctx context.Context, tx pgx.Tx, by auth.Identity, id, action, target string) (auth.Approval, error) {
	a, err := lock(ctx, tx, id)
	if err != nil {
		return auth.Approval{}, err
	}
	out, err := a.Consume(by, action, target, s.opts)
	if err != nil {
		return auth.Approval{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE approvals SET consumed_at = $2 WHERE id = $1`, id, out.ConsumedAt); err != nil {
		return auth.Approval{}, wrap("consume", err)
	}
	if err := hook(ctx, tx, s.OnConsume, out); err != nil {
		return auth.Approval{}, wrap("consume", err)
	}
	return out, nil
}

// Get implements auth.Approvals.
func (s *Store) Get(ctx context.Context, id string) (auth.Approval, error) {
	if !auth.ValidApprovalID(id) {
		return auth.Approval{}, fmt.Errorf("approvalpg: %w", auth.ErrApprovalNotFound)
	}
	a, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM approvals WHERE id = $1`, id))
	if err != nil {
		return auth.Approval{}, wrap("get", err)
	}
	return a, nil
}

// lock reads approval id and holds its row until tx ends.
func lock(ctx context.Context, tx pgx.Tx, id string) (auth.Approval, error) {
	if !auth.ValidApprovalID(id) {
		return auth.Approval{}, auth.ErrApprovalNotFound
	}
	return scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM approvals WHERE id = $1 FOR UPDATE`, id))
}

func scan(row pgx.Row) (auth.Approval, error) {
	var (
		a                      auth.Approval
		approvedBy             *string
		approvedAt, consumedAt *time.Time
	)
	err := row.Scan(&a.ID, &a.Action, &a.Target, &a.Reason, &a.ParamsSHA256, &a.RequestedBy, &a.RequestedAt, &a.ExpiresAt,
		&approvedBy, &approvedAt, &consumedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.Approval{}, auth.ErrApprovalNotFound
	}
	if err != nil {
		return auth.Approval{}, err
	}
	a.RequestedAt, a.ExpiresAt = a.RequestedAt.UTC(), a.ExpiresAt.UTC()
	if approvedBy != nil {
		a.ApprovedBy = *approvedBy
	}
	if approvedAt != nil {
		a.ApprovedAt = approvedAt.UTC()
	}
	if consumedAt != nil {
		a.ConsumedAt = consumedAt.UTC()
	}
	return a, nil
}

// wrap adds what failed, keeping the sentinels of package auth visible,
// and auth.ErrApprovalsUnavailable when the database cannot be reached
// (see package pgerr).
func wrap(what string, err error) error {
	return pgerr.Wrap(auth.ErrApprovalsUnavailable, "approvalpg: "+what, err)
}
