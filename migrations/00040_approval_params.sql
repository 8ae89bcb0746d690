-- The two-person rule binds every parameter and cannot be bent with the
-- service's database credentials (internal/auth, approvalpg):
--  * params_sha256 is the SHA-256 of action, a newline and target (the
--    canonical parameters, auth.ApprovalTarget); the database recomputes it,
--    and it never changes;
--  * a row is inserted unapproved and unused; it is approved by one
--    statement and used by a later one, never both at once, and only
--    before it expires;
--  * the approver is not the requester, whatever the case or white space
--    (the old check compared the strings exactly: "alice " approved "alice").
-- Revocations only ever get stronger: a row is never removed or re-aimed,
-- its effective time only moves earlier, and a compromise reason is final.
-- A superuser can disable all of this; `signerctl ledger verify` then
-- compares the rows with the log leaves written at each step.
-- Forward-only: no Down section on purpose.

-- +goose Up
ALTER TABLE approvals ADD COLUMN params_sha256 text;
UPDATE approvals SET params_sha256 = encode(sha256(convert_to(action || E'\n' || target, 'UTF8')), 'hex');
ALTER TABLE approvals
    ALTER COLUMN params_sha256 SET NOT NULL,
    ADD CONSTRAINT approvals_params_sha256 CHECK (
        params_sha256 = encode(sha256(convert_to(action || E'\n' || target, 'UTF8')), 'hex')),
    ADD CONSTRAINT approvals_target_length CHECK (length(target) <= 1024),
    DROP CONSTRAINT approvals_second_person,
    ADD CONSTRAINT approvals_second_person CHECK (
        approved_by IS NULL OR lower(btrim(approved_by)) <> lower(btrim(requested_by))),
    ADD CONSTRAINT approvals_identities CHECK (
        requested_by = btrim(requested_by)
        AND (approved_by IS NULL OR (approved_by = btrim(approved_by) AND approved_by <> ''))),
    ADD CONSTRAINT approvals_approved_in_time CHECK (
        approved_at IS NULL OR (approved_at >= requested_at AND approved_at < expires_at)),
    ADD CONSTRAINT approvals_consumed_in_time CHECK (
        consumed_at IS NULL OR (consumed_at >= approved_at AND consumed_at < expires_at));

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION approvals_check_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.approved_by IS NOT NULL OR NEW.approved_at IS NOT NULL OR NEW.consumed_at IS NOT NULL THEN
            RAISE EXCEPTION 'approval %: a request is recorded unapproved and unused', NEW.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'approvals rows are never removed: % rejected', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
        OR NEW.action IS DISTINCT FROM OLD.action
        OR NEW.target IS DISTINCT FROM OLD.target
        OR NEW.reason IS DISTINCT FROM OLD.reason
        OR NEW.params_sha256 IS DISTINCT FROM OLD.params_sha256
        OR NEW.requested_by IS DISTINCT FROM OLD.requested_by
        OR NEW.requested_at IS DISTINCT FROM OLD.requested_at
        OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
        OR (OLD.approved_by IS NOT NULL AND (NEW.approved_by IS DISTINCT FROM OLD.approved_by
                                             OR NEW.approved_at IS DISTINCT FROM OLD.approved_at))
        OR (OLD.consumed_at IS NOT NULL AND NEW.consumed_at IS DISTINCT FROM OLD.consumed_at) THEN
        RAISE EXCEPTION 'approval %: only an unset approval or use may be set', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.approved_by IS NULL AND NEW.consumed_at IS NOT NULL THEN
        RAISE EXCEPTION 'approval %: approved and used in one step', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER approvals_insert_guard
    BEFORE INSERT ON approvals
    FOR EACH ROW EXECUTE FUNCTION approvals_check_change();

-- +goose StatementBegin
CREATE FUNCTION revocations_check_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'revocations are never removed: % rejected', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
        OR NEW.kind IS DISTINCT FROM OLD.kind
        OR NEW.target IS DISTINCT FROM OLD.target
        OR NEW.archive_sha256 IS DISTINCT FROM OLD.archive_sha256
        OR NEW.ledger_entry_id IS DISTINCT FROM OLD.ledger_entry_id
        OR NEW.issuer IS DISTINCT FROM OLD.issuer
        OR NEW.serial IS DISTINCT FROM OLD.serial
        OR NEW.fingerprint IS DISTINCT FROM OLD.fingerprint
        OR NEW.subject IS DISTINCT FROM OLD.subject
        OR NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
        OR NEW.revoked_by IS DISTINCT FROM OLD.revoked_by THEN
        RAISE EXCEPTION 'revocation %: only its effective time and reason change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (OLD.effective_from IS NULL) <> (NEW.effective_from IS NULL) OR NEW.effective_from > OLD.effective_from THEN
        RAISE EXCEPTION 'revocation %: the effective time only moves earlier', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.reason IS DISTINCT FROM OLD.reason
        AND (OLD.reason IN ('key-compromise', 'ca-compromise')
             OR NEW.reason NOT IN ('key-compromise', 'ca-compromise')) THEN
        RAISE EXCEPTION 'revocation %: reason % cannot become %: a reason only ever becomes a compromise', OLD.id, OLD.reason, NEW.reason
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER revocations_guard
    BEFORE UPDATE OR DELETE ON revocations
    FOR EACH ROW EXECUTE FUNCTION revocations_check_change();

CREATE TRIGGER revocations_no_truncate
    BEFORE TRUNCATE ON revocations
    FOR EACH STATEMENT EXECUTE FUNCTION revocations_check_change();
