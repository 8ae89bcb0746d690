-- Every step of the two-person rule must be logged in the transaction that
-- makes it (internal/auth/approvalpg hooks, internal/ledger ApprovalHooks):
-- at commit, the newest log leaves must include an admin leaf for this
-- step naming this approval, its parameters' hash and its people. Without
-- it the database refuses the row change, so "approved_by = 'bob'" typed
-- with the service's credentials does nothing; whoever wants it to stick
-- must also append a leaf to the tamper-evident log, where it stays, with
-- the identities it claims, for `signerctl ledger verify` and every
-- auditor. The log head is locked by the transaction that appended the
-- leaf, so its leaves are the newest when this check runs at commit.
-- Forward-only: no Down section on purpose.

-- +goose Up
-- +goose StatementBegin
-- SECURITY DEFINER: the check reads the log whatever the caller's grants.
CREATE FUNCTION approvals_check_logged() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    step text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        step := 'approval-requested';
    ELSIF OLD.approved_by IS NULL AND NEW.approved_by IS NOT NULL THEN
        step := 'approval-approved';
    ELSIF OLD.consumed_at IS NULL AND NEW.consumed_at IS NOT NULL THEN
        step := 'approval-used';
    ELSE
        RETURN NULL;
    END IF;
    IF NOT EXISTS (
        SELECT 1
        FROM (SELECT kind, payload FROM log_leaves ORDER BY idx DESC LIMIT 16) l,
             LATERAL (SELECT convert_from(l.payload, 'UTF8')::jsonb AS p) j
        WHERE l.kind = 'admin'
          AND j.p->>'action' = step
          AND j.p->'detail'->>'approval_id' = NEW.id
          AND j.p->'detail'->>'params_sha256' = NEW.params_sha256
          AND j.p->'detail'->>'requested_by' = NEW.requested_by
          AND (step = 'approval-requested' OR j.p->'detail'->>'approved_by' = NEW.approved_by))
    THEN
        RAISE EXCEPTION 'approval %: % is not in the transparency log; the two-person rule is changed only through the service', NEW.id, step
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER approvals_logged
    AFTER INSERT OR UPDATE ON approvals
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION approvals_check_logged();
