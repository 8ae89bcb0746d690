-- The signature ledger joins the tamper-evident log (internal/ledger,
-- internal/translog): every signatures row is written in the same
-- transaction as the log leaf that records it, and names that leaf. The
-- table becomes append-only, and gets the indexes auditor queries use.
-- Forward-only: this file has no Down section on purpose.

-- +goose Up

-- log_index is the leaf (log_leaves.idx) whose payload is this row's
-- canonical form. The foreign key is deferred: the sequencer writes the
-- leaves of a batch after the rows its callbacks insert. Rows written before
-- this migration have none; the NOT VALID check makes it mandatory for every
-- new row without rewriting old ones.
ALTER TABLE signatures
    ADD COLUMN log_index bigint,
    ADD CONSTRAINT signatures_log_index_key UNIQUE (log_index),
    ADD CONSTRAINT signatures_log_index_fkey FOREIGN KEY (log_index) REFERENCES log_leaves (idx)
        DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT signatures_logged CHECK (log_index IS NOT NULL) NOT VALID;

-- Append-only, like the log: a signature once recorded is never changed or
-- removed. As for the log, this stops the service's bugs and credentials
-- (with the grants in 00002's header: SELECT, INSERT only); a superuser can
-- disable it, which `signerctl ledger verify` then catches.
-- +goose StatementBegin
CREATE FUNCTION signatures_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % rejected: the signature ledger is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER signatures_append_only BEFORE UPDATE OR DELETE ON signatures
    FOR EACH ROW EXECUTE FUNCTION signatures_reject_change();
CREATE TRIGGER signatures_no_truncate BEFORE TRUNCATE ON signatures
    FOR EACH STATEMENT EXECUTE FUNCTION signatures_reject_change();

-- The log's completeness check (00002) ran once per log_head update against
-- that update's new size. Since events are appended inside other stores'
-- transactions (translog.Log.AppendTx; a key rotation logs two), one
-- transaction may move the head more than once: every deferred check now
-- compares the tables' ends with the head as committed, and still counts the
-- rows its own update added.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION log_head_complete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    final_size bigint := (SELECT tree_size FROM log_head);
    final_hashes bigint := 2 * final_size - bit_count(final_size::bit(64));
    old_hashes bigint := 2 * OLD.tree_size - bit_count(OLD.tree_size::bit(64));
    new_hashes bigint := 2 * NEW.tree_size - bit_count(NEW.tree_size::bit(64));
BEGIN
    -- max() reads one index entry; the counts scan the new rows only.
    IF coalesce((SELECT max(idx) FROM log_leaves), -1) <> final_size - 1
        OR (SELECT count(*) FROM log_leaves WHERE idx >= OLD.tree_size AND idx < NEW.tree_size)
            <> NEW.tree_size - OLD.tree_size
        OR coalesce((SELECT max(id) FROM log_hashes), -1) <> final_hashes - 1
        OR (SELECT count(*) FROM log_hashes WHERE id >= old_hashes AND id < new_hashes)
            <> new_hashes - old_hashes
    THEN
        RAISE EXCEPTION 'log_head: leaves or hashes of a %-leaf tree are missing or in excess', final_size
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Auditor queries (ledger.Filter): one index per filter, each ending in id
-- so that "WHERE <filter> AND id > cursor ORDER BY id LIMIT n" is one index
-- range scan whatever the table's size. (app_key, version, id) exists.
CREATE INDEX signatures_app_key_id_idx ON signatures (app_key, id);
CREATE INDEX signatures_version_id_idx ON signatures (version, id);
CREATE INDEX signatures_track_id_idx ON signatures (track, id);
CREATE INDEX signatures_key_id_idx ON signatures (key_id, key_version, id);
CREATE INDEX signatures_cert_serial_id_idx ON signatures (cert_serial, id);
CREATE INDEX signatures_caller_id_idx ON signatures (caller, id);
CREATE INDEX signatures_signed_at_id_idx ON signatures (signed_at, id);
CREATE INDEX signatures_sha256_id_idx ON signatures (sha256, id);
DROP INDEX signatures_sha256_idx;

-- Revocation status joins revocation_events.affected_entry_ids, when the
-- revocation tables exist (migrations/00006).
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('revocation_events') IS NOT NULL THEN
        CREATE INDEX IF NOT EXISTS revocation_events_affected_idx
            ON revocation_events USING gin (affected_entry_ids);
    END IF;
END
$$;
-- +goose StatementEnd
