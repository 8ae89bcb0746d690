-- Revocation: what is revoked (one row per archive, certificate or key),
-- every revocation event with the signatures it revoked, the published
-- revocation list versions and CRLs, and the private-build certificates
-- issued to vendors. Forward-only: this file has no Down section on purpose.

-- +goose Up
CREATE TABLE revocations (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('archive', 'certificate', 'key')),
    -- target identifies what is revoked: the archive SHA-256 (hex), "<issuer DN>\x1f<serial hex>",
    -- or the key fingerprint (hex SHA-256 of the DER SubjectPublicKeyInfo).
    target          text        NOT NULL CHECK (target <> ''),
    archive_sha256  text        CHECK (archive_sha256 IS NULL OR archive_sha256 ~ '^[0-9a-f]{64}$'),
    ledger_entry_id bigint      REFERENCES signatures (id),
    issuer          text,
    serial          text        CHECK (serial IS NULL OR serial ~ '^[0-9a-f]+$'),
    fingerprint     text        CHECK (fingerprint IS NULL OR fingerprint ~ '^[0-9a-f]{64}$'),
    subject         text        NOT NULL DEFAULT '',
    reason          text        NOT NULL CHECK (reason <> ''),
    -- effective_from: signatures made at or after it are revoked; NULL for archives
    -- (revoked whenever signed). It only ever moves earlier.
    effective_from  timestamptz,
    revoked_at      timestamptz NOT NULL,
    revoked_by      text        NOT NULL CHECK (revoked_by <> ''),
    CONSTRAINT revocations_kind_target_key UNIQUE (kind, target),
    CONSTRAINT revocations_shape CHECK (
        (kind = 'archive' AND archive_sha256 IS NOT NULL AND effective_from IS NULL) OR
        (kind = 'certificate' AND issuer IS NOT NULL AND serial IS NOT NULL AND effective_from IS NOT NULL) OR
        (kind = 'key' AND fingerprint IS NOT NULL AND effective_from IS NOT NULL))
);

-- Append-only: one row per request that revoked something or moved an
-- effective time earlier, with exactly the ledger entries it revoked.
CREATE TABLE revocation_events (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revocation_id      bigint      NOT NULL REFERENCES revocations (id),
    action             text        NOT NULL CHECK (action IN ('revoked', 'moved-earlier')),
    reason             text        NOT NULL,
    effective_from     timestamptz,
    affected_entry_ids bigint[]    NOT NULL DEFAULT '{}',
    actor              text        NOT NULL CHECK (actor <> ''),
    at                 timestamptz NOT NULL
);

CREATE INDEX revocation_events_revocation_id_idx ON revocation_events (revocation_id, id);

-- +goose StatementBegin
CREATE FUNCTION revocation_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER revocation_events_append_only
    BEFORE UPDATE OR DELETE ON revocation_events
    FOR EACH ROW EXECUTE FUNCTION revocation_reject_change();

-- Every signed revocation list ever published; versions are consecutive.
CREATE TABLE revocation_lists (
    version      bigint      PRIMARY KEY CHECK (version >= 1),
    issued_at    timestamptz NOT NULL,
    next_update  timestamptz NOT NULL CHECK (next_update > issued_at),
    envelope     bytea       NOT NULL,
    published_by text        NOT NULL CHECK (published_by <> '')
);

CREATE TRIGGER revocation_lists_append_only
    BEFORE UPDATE OR DELETE ON revocation_lists
    FOR EACH ROW EXECUTE FUNCTION revocation_reject_change();

-- Every CRL ever issued, per CA; numbers grow per CA.
CREATE TABLE crls (
    ca          text        NOT NULL CHECK (ca <> ''),
    number      bigint      NOT NULL CHECK (number >= 1),
    issued_at   timestamptz NOT NULL,
    next_update timestamptz NOT NULL CHECK (next_update > issued_at),
    der         bytea       NOT NULL,
    issued_by   text        NOT NULL CHECK (issued_by <> ''),
    PRIMARY KEY (ca, number)
);

CREATE TRIGGER crls_append_only
    BEFORE UPDATE OR DELETE ON crls
    FOR EACH ROW EXECUTE FUNCTION revocation_reject_change();

-- Private-build certificates issued to vendors for their own keys.
CREATE TABLE vendor_certificates (
    serial      text        PRIMARY KEY CHECK (serial ~ '^[0-9a-f]+$'),
    vendor      text        NOT NULL CHECK (vendor <> ''),
    caller      text        NOT NULL CHECK (caller <> ''),
    app_keys    text[]      NOT NULL CHECK (cardinality(app_keys) >= 1),
    fingerprint text        NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    certificate bytea       NOT NULL,
    issued_at   timestamptz NOT NULL
);

CREATE INDEX vendor_certificates_vendor_idx ON vendor_certificates (vendor, issued_at);

CREATE TRIGGER vendor_certificates_append_only
    BEFORE UPDATE OR DELETE ON vendor_certificates
    FOR EACH ROW EXECUTE FUNCTION revocation_reject_change();
