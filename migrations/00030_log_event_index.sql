-- Event leaves (every kind but signature) are read on their own: the
-- revocation publisher recomputes the revocations in force from the
-- revocation leaves before it signs a list (internal/ledger), and they are
-- few beside the signatures. A partial index keeps that read small at any
-- log size. Forward-only: this file has no Down section on purpose.

-- +goose Up
CREATE INDEX log_leaves_event_kind_idx ON log_leaves (kind, idx) WHERE kind <> 'signature';
