-- A lean signatures row: the (track, id) index held every row, but a track
-- has two values and the service signs only MARKETPLACE (private builds are
-- vendors' own signatures since the marketplace-only rule), so a
-- MARKETPLACE page is a primary-key walk that keeps nearly every row it
-- reads, and only the rare PRIVATE_BUILD rows need an index to be found.
-- A partial index on them replaces the full one: a signature's insert
-- maintains one index less. Plans before and after on 200,000 seeded rows
-- are in docs/ledger.md ("Indexes and scale").
--
-- The other filter indexes stay: each serves its filter's keyset page in id
-- order, and dropping (app_key, id) for (app_key, version, id), the pair
-- that looked redundant, doubles the pages read for an app's page (every
-- row of the app is read and sorted). Forward-only: no Down section.

-- +goose Up
CREATE INDEX signatures_private_build_id_idx ON signatures (id) WHERE track = 'PRIVATE_BUILD';
DROP INDEX signatures_track_id_idx;
