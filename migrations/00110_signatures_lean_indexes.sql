-- A leaner signatures row (issue 13): two of its B-tree indexes go.
--
--  * "Was this archive signed?" (ListEntries' sha256 filter, revocation by
--    archive) is an equality on a random 32-byte digest, with a handful of
--    rows per digest at most (re-signatures). A hash index answers it with
--    entries of about half the size of the (sha256, id) B-tree's (4.7 MB
--    against 8.7 MB for 100,000 rows), and the few matches are sorted by id
--    for the page. Random digests touch a random page of either index on
--    every insert, so the smaller one is the one that stays in memory.
--  * (version, id) served a version filter without an app key only; with
--    an app key, (app_key, version, id) serves it. A version alone is now a
--    primary-key walk (or a scan of that index), as the idempotency-key
--    prefix filter already is.
--
-- Kept, each for its query (docs/ledger.md, "Indexes and scale"): the
-- primary key; (caller, idempotency_key), the idempotency constraint;
-- log_index, unique; (app_key, id) and (app_key, version, id), one keyset
-- page each (dropping either reads and sorts a whole app per page);
-- (key_id, key_version, id), (cert_serial, id) and (caller, id), few values
-- but rare ones must not scan the table (a retired key version); (signed_at,
-- id), the start of a time range (a BRIN index was measured instead: it
-- reads every unsummarized block range, 53 ms p50 for a one-hour page right
-- after 100,000 appends, 4 ms once summarized, against 2 ms); the partial
-- PRIVATE_BUILD index (00090).
--
-- In one transaction, as every migration here: CREATE INDEX holds a SHARE
-- lock on signatures while it builds, so signing waits for the build
-- (1.3 s for 200,000 rows on the loaded 2-core bench machine). CONCURRENTLY,
-- outside a transaction, was tried and deadlocks: a second replica's
-- Migrate waits for the migration lock inside a statement, whose snapshot
-- the concurrent build waits for (TestMigrateConcurrently hung). On a
-- large ledger, build the index by hand first, with the same name and
-- CONCURRENTLY; the migration then keeps it (a build that failed and left
-- it invalid is dropped and redone here). Forward-only: no Down section.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index
               WHERE indexrelid = to_regclass('signatures_sha256_hash_idx') AND NOT indisvalid) THEN
        DROP INDEX signatures_sha256_hash_idx;
    END IF;
END
$$;
-- +goose StatementEnd
CREATE INDEX IF NOT EXISTS signatures_sha256_hash_idx ON signatures USING hash (sha256);
DROP INDEX signatures_sha256_id_idx;
DROP INDEX signatures_version_id_idx;
