-- Key lifecycle (internal/keystore): named keys, their versions in any key
-- backend, and an append-only history of what was done to them by whom.
-- Forward-only: this file has no Down section on purpose.

-- +goose Up
CREATE TABLE keys (
    name       text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{1,62}$'),
    role       text        NOT NULL CHECK (role IN ('archive-signing', 'ca', 'ledger')),
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL CHECK (created_by <> '')
);

-- One row per key version. A version is written active and only ever moves
-- forward: active -> retired (verify-only) -> revoked, or active -> revoked.
-- Everything but state and retired_at is immutable (trigger below), because
-- (name, version) is what the signature ledger records.
CREATE TABLE key_versions (
    name         text        NOT NULL REFERENCES keys (name),
    version      integer     NOT NULL CHECK (version >= 1),
    backend_uri  text        NOT NULL CHECK (backend_uri <> ''),
    public_key   bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    -- DER signing certificate; NULL for roles that sign no archives.
    certificate  bytea,
    state        text        NOT NULL CHECK (state IN ('active', 'retired', 'revoked')),
    created_at   timestamptz NOT NULL,
    activated_at timestamptz NOT NULL,
    retired_at   timestamptz,
    actor        text        NOT NULL CHECK (actor <> ''),
    PRIMARY KEY (name, version),
    CONSTRAINT key_versions_retired_at CHECK ((state = 'active') = (retired_at IS NULL))
);

-- At most one active version per key: the database, not the application,
-- guarantees that two replicas rotating at once cannot both win.
CREATE UNIQUE INDEX key_versions_one_active_idx ON key_versions (name) WHERE state = 'active';

CREATE TABLE key_events (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text        NOT NULL REFERENCES keys (name),
    version integer     NOT NULL,
    event   text        NOT NULL CHECK (event IN ('created', 'imported', 'rotated', 'retired', 'revoked')),
    actor   text        NOT NULL CHECK (actor <> ''),
    at      timestamptz NOT NULL,
    detail  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    FOREIGN KEY (name, version) REFERENCES key_versions (name, version)
);

CREATE INDEX key_events_name_id_idx ON key_events (name, id);

-- key_events is an audit record: rows are added, never changed or removed.
-- +goose StatementBegin
CREATE FUNCTION keystore_reject_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'key_events is append-only: % rejected', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER key_events_append_only
    BEFORE UPDATE OR DELETE ON key_events
    FOR EACH ROW EXECUTE FUNCTION keystore_reject_event_change();

CREATE TRIGGER key_events_no_truncate
    BEFORE TRUNCATE ON key_events
    FOR EACH STATEMENT EXECUTE FUNCTION keystore_reject_event_change();

-- key_versions: no deletes, no edits of what a version is, and states only
-- move forward.
-- +goose StatementBegin
CREATE FUNCTION keystore_check_version_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'key_versions rows are never removed: % rejected', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.name IS DISTINCT FROM OLD.name
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.backend_uri IS DISTINCT FROM OLD.backend_uri
        OR NEW.public_key IS DISTINCT FROM OLD.public_key
        OR NEW.certificate IS DISTINCT FROM OLD.certificate
        OR NEW.created_at IS DISTINCT FROM OLD.created_at
        OR NEW.activated_at IS DISTINCT FROM OLD.activated_at
        OR NEW.actor IS DISTINCT FROM OLD.actor THEN
        RAISE EXCEPTION 'key version %/% is immutable but for its state', OLD.name, OLD.version
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NOT (NEW.state = OLD.state
            OR (OLD.state = 'active' AND NEW.state IN ('retired', 'revoked'))
            OR (OLD.state = 'retired' AND NEW.state = 'revoked')) THEN
        RAISE EXCEPTION 'key version %/%: state % cannot become %', OLD.name, OLD.version, OLD.state, NEW.state
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.retired_at IS NOT NULL AND NEW.retired_at IS DISTINCT FROM OLD.retired_at THEN
        RAISE EXCEPTION 'key version %/%: retired_at is set once', OLD.name, OLD.version
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER key_versions_guard
    BEFORE UPDATE OR DELETE ON key_versions
    FOR EACH ROW EXECUTE FUNCTION keystore_check_version_change();

CREATE TRIGGER key_versions_no_truncate
    BEFORE TRUNCATE ON key_versions
    FOR EACH STATEMENT EXECUTE FUNCTION keystore_check_version_change();
