-- A log leaf row stays in its heap page. A digest signature's leaf carries
-- the statement twice (hex in the payload, and the payload again inside the
-- leaf bytes), about 3.2 KB a row, over PostgreSQL's 2 KB toast threshold:
-- every such insert tried to compress the row (hex and JSON do not shrink
-- much) and then moved the leaf to the toast table, one more heap insert
-- and one more index insert per signature. Measured on `signer dev` under
-- signerload (SignDigest, 32 callers, 15,000 requests): PostgreSQL's CPU
-- per signature 135–162 µs before, 114–116 µs after; bench notes in
-- docs/BENCHMARKS.md. Rows over 8,160 bytes (large revocation leaves)
-- are still toasted as before. Forward-only: no Down section.

-- +goose Up
ALTER TABLE log_leaves SET (toast_tuple_target = 8160);
