-- A leaner log leaf row (issue 13). log_leaves stored each leaf three
-- ways: its parts (kind, payload, appended_at), its bytes (leaf: a 17-byte
-- header and the kind before the payload again) and its hash (leaf_hash,
-- the stored level-0 hash in log_hashes again). Nothing read leaf_hash;
-- `ledger verify` and StreamLogEntries encode each leaf from its parts
-- (translog.Log.Entries), and the revocation and CA-certificate readers
-- now read the parts too, so every reader sees what verify checks (they
-- read leaf, which verify never compared with the parts). New rows store
-- the parts only: a digest signature's row is ≈ 0.9 KB smaller, and so is
-- its write-ahead log record.
--
-- Rows written before keep their leaf and leaf_hash (the table is
-- append-only and is not rewritten). The columns become nullable rather
-- than dropped, so a replica still running the previous release keeps
-- appending (it fills them) during an upgrade; a later migration can drop
-- them. log_leaf() gives the leaf's bytes in SQL, for inspection and
-- export:
--   SELECT idx, log_leaf(kind, payload, appended_at) FROM log_leaves;
-- and sha256('\x00' || log_leaf(...)) is the leaf's tree hash (RFC 6962).
-- Forward-only: no Down section.

-- +goose Up
ALTER TABLE log_leaves
    ALTER COLUMN leaf DROP NOT NULL,
    ALTER COLUMN leaf_hash DROP NOT NULL;

-- translog.EncodeLeaf: version byte 1, the kind's length (4 bytes, big
-- endian) and bytes, the time in microseconds since the epoch (8 bytes),
-- the payload's length (4 bytes) and bytes.
CREATE FUNCTION log_leaf(kind text, payload bytea, appended_at timestamptz) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN '\x01'::bytea
    || int4send(octet_length(convert_to(kind, 'UTF8')))
    || convert_to(kind, 'UTF8')
    || int8send((extract(epoch from appended_at) * 1000000)::bigint)
    || int4send(octet_length(payload))
    || payload;
