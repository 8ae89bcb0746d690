-- The signature ledger: one row per archive signature the service produced.
-- Forward-only: this file has no Down section on purpose.

-- +goose Up
CREATE TABLE signatures (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_key         text        NOT NULL,
    version         text        NOT NULL,
    track           text        NOT NULL CHECK (track IN ('MARKETPLACE', 'PRIVATE_BUILD')),
    archive_size    bigint      NOT NULL CHECK (archive_size >= 0),
    sha256          bytea       NOT NULL CHECK (octet_length(sha256) = 32),
    sha512          bytea       NOT NULL CHECK (octet_length(sha512) = 64),
    key_id          text        NOT NULL,
    key_version     integer     NOT NULL,
    cert_serial     text        NOT NULL,
    signature       bytea       NOT NULL CHECK (octet_length(signature) = 64),
    caller          text        NOT NULL,
    review_ref      text        NOT NULL,
    idempotency_key text        NOT NULL,
    signed_at       timestamptz NOT NULL,
    CONSTRAINT signatures_caller_idempotency_key_key UNIQUE (caller, idempotency_key)
);

-- Auditors list the signatures of one app (and version) in id order.
CREATE INDEX signatures_app_key_version_id_idx ON signatures (app_key, version, id);

-- "Was this exact archive ever signed?"
CREATE INDEX signatures_sha256_idx ON signatures (sha256);
