-- +goose Up
-- A signature is either pure Ed25519 over the archive (the UPM profile) or
-- over a digest statement (docs/digest-profile.md), whose exact bytes are kept.
ALTER TABLE signatures
    ADD COLUMN profile text NOT NULL DEFAULT 'upm' CHECK (profile IN ('upm', 'digest-v1')),
    ADD COLUMN statement bytea CHECK (statement IS NULL OR octet_length(statement) <= 4096),
    ADD CONSTRAINT signatures_statement_matches_profile CHECK ((profile = 'upm') = (statement IS NULL));
