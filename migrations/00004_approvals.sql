-- Two-person rule (internal/auth, approvalpg): a security admin requests an
-- action, a different security admin approves it, the requester uses it once.
-- Both identities stay on record. Forward-only: no Down section on purpose.

-- +goose Up
CREATE TABLE approvals (
    id           text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    action       text        NOT NULL CHECK (action ~ '^[a-z0-9._-]{1,64}$'),
    target       text        NOT NULL CHECK (target <> ''),
    reason       text        NOT NULL,
    requested_by text        NOT NULL CHECK (requested_by <> ''),
    requested_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL CHECK (expires_at > requested_at),
    approved_by  text,
    approved_at  timestamptz,
    consumed_at  timestamptz,
    -- The database, not only the application, refuses self-approval and use
    -- without approval.
    CONSTRAINT approvals_second_person CHECK (approved_by IS NULL OR approved_by <> requested_by),
    CONSTRAINT approvals_approved_pair CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
    CONSTRAINT approvals_consumed_after_approval CHECK (consumed_at IS NULL OR approved_at IS NOT NULL)
);

-- Rows are never removed, and change only forward: the request is immutable,
-- the approval is set once, the use is set once.
-- +goose StatementBegin
CREATE FUNCTION approvals_check_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'approvals rows are never removed: % rejected', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
        OR NEW.action IS DISTINCT FROM OLD.action
        OR NEW.target IS DISTINCT FROM OLD.target
        OR NEW.reason IS DISTINCT FROM OLD.reason
        OR NEW.requested_by IS DISTINCT FROM OLD.requested_by
        OR NEW.requested_at IS DISTINCT FROM OLD.requested_at
        OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
        OR (OLD.approved_by IS NOT NULL AND (NEW.approved_by IS DISTINCT FROM OLD.approved_by
                                             OR NEW.approved_at IS DISTINCT FROM OLD.approved_at))
        OR (OLD.consumed_at IS NOT NULL AND NEW.consumed_at IS DISTINCT FROM OLD.consumed_at) THEN
        RAISE EXCEPTION 'approval %: only an unset approval or use may be set', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER approvals_guard
    BEFORE UPDATE OR DELETE ON approvals
    FOR EACH ROW EXECUTE FUNCTION approvals_check_change();

CREATE TRIGGER approvals_no_truncate
    BEFORE TRUNCATE ON approvals
    FOR EACH STATEMENT EXECUTE FUNCTION approvals_check_change();
