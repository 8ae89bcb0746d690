-- The tamper-evident log (internal/translog): every ledger event is a leaf of
-- an append-only RFC 6962 Merkle tree whose signed checkpoints auditors keep.
-- Forward-only: this file has no Down section on purpose.
--
-- Deployment note, not run here because role names are site-specific: the
-- service's role must not own these tables (an owner can disable their
-- triggers) and needs no more than
--   REVOKE ALL ON log_leaves, log_hashes, log_checkpoints, log_head FROM signer_service;
--   GRANT SELECT, INSERT ON log_leaves, log_hashes, log_checkpoints TO signer_service;
--   GRANT SELECT, UPDATE ON log_head TO signer_service;
-- (UPDATE on log_head also covers its SELECT ... FOR UPDATE). The triggers
-- below then stop the service's own bugs; the grants stop its credentials.

-- +goose Up

-- One row per leaf. leaf is the exact byte string hashed into the tree
-- (translog.EncodeLeaf of kind, payload and appended_at); leaf_hash is its
-- tlog.RecordHash.
CREATE TABLE log_leaves (
    idx         bigint      PRIMARY KEY CHECK (idx >= 0),
    kind        text        NOT NULL CHECK (kind IN ('signature', 'revocation', 'key', 'certificate', 'admin')),
    payload     bytea       NOT NULL,
    leaf        bytea       NOT NULL,
    leaf_hash   bytea       NOT NULL CHECK (octet_length(leaf_hash) = 32),
    appended_at timestamptz NOT NULL
);

-- The tree's stored hashes, keyed by tlog.StoredHashIndex(level, n): every
-- leaf hash and every complete subtree's hash, written once.
CREATE TABLE log_hashes (
    id   bigint PRIMARY KEY CHECK (id >= 0),
    hash bytea  NOT NULL CHECK (octet_length(hash) = 32)
);

-- Signed checkpoints (C2SP tlog-checkpoint notes), at most one per size.
CREATE TABLE log_checkpoints (
    tree_size  bigint      PRIMARY KEY CHECK (tree_size >= 0),
    root_hash  bytea       NOT NULL CHECK (octet_length(root_hash) = 32),
    note       bytea       NOT NULL,
    created_at timestamptz NOT NULL
);

-- The sequenced tree, in one row whose lock (SELECT ... FOR UPDATE) orders
-- the append batches of every replica. frontier holds the stored hashes of
-- the tree's maximal complete subtrees, left to right (at most 64), which is
-- all the next batch needs from log_hashes: the lock returns it in the same
-- round trip, whichever replica appended last. last_at is the newest leaf's
-- timestamp, so leaf times never decrease with the index.
CREATE TABLE log_head (
    singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    tree_size bigint      NOT NULL CHECK (tree_size >= 0),
    root_hash bytea       NOT NULL CHECK (octet_length(root_hash) = 32),
    frontier  bytea       NOT NULL DEFAULT '' CHECK (octet_length(frontier) % 32 = 0),
    last_at   timestamptz
);

-- The empty tree; its hash is SHA-256 of nothing (RFC 6962, 2.1).
INSERT INTO log_head (tree_size, root_hash) VALUES (0, sha256(''::bytea));

-- +goose StatementBegin
CREATE FUNCTION log_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % rejected: the log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE ON log_leaves
    FOR EACH ROW EXECUTE FUNCTION log_reject_change();
CREATE TRIGGER log_leaves_no_truncate BEFORE TRUNCATE ON log_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION log_reject_change();
CREATE TRIGGER log_hashes_append_only BEFORE UPDATE OR DELETE ON log_hashes
    FOR EACH ROW EXECUTE FUNCTION log_reject_change();
CREATE TRIGGER log_hashes_no_truncate BEFORE TRUNCATE ON log_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION log_reject_change();
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION log_reject_change();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION log_reject_change();
CREATE TRIGGER log_head_keep BEFORE DELETE ON log_head
    FOR EACH ROW EXECUTE FUNCTION log_reject_change();
CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON log_head
    FOR EACH STATEMENT EXECUTE FUNCTION log_reject_change();

-- The head only moves forward, and only over rows that exist: at commit,
-- the leaves and stored hashes between the old and the new size must all be
-- there, and none beyond. tlog stores 2n - popcount(n) hashes for n leaves.
-- +goose StatementBegin
CREATE FUNCTION log_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tree_size < OLD.tree_size THEN
        RAISE EXCEPTION 'log_head: tree size % cannot go back to %', OLD.tree_size, NEW.tree_size
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER log_head_forward BEFORE UPDATE ON log_head
    FOR EACH ROW EXECUTE FUNCTION log_head_forward();

-- +goose StatementBegin
CREATE FUNCTION log_head_complete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_hashes bigint := 2 * OLD.tree_size - bit_count(OLD.tree_size::bit(64));
    new_hashes bigint := 2 * NEW.tree_size - bit_count(NEW.tree_size::bit(64));
BEGIN
    -- max() reads one index entry; the counts scan the new rows only.
    IF coalesce((SELECT max(idx) FROM log_leaves), -1) <> NEW.tree_size - 1
        OR (SELECT count(*) FROM log_leaves WHERE idx >= OLD.tree_size AND idx < NEW.tree_size)
            <> NEW.tree_size - OLD.tree_size
        OR coalesce((SELECT max(id) FROM log_hashes), -1) <> new_hashes - 1
        OR (SELECT count(*) FROM log_hashes WHERE id >= old_hashes AND id < new_hashes)
            <> new_hashes - old_hashes
    THEN
        RAISE EXCEPTION 'log_head: leaves or hashes of a %-leaf tree are missing or in excess', NEW.tree_size
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER log_head_complete AFTER UPDATE ON log_head
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION log_head_complete();
