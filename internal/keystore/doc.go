// Package keystore owns named keys and their versions: which backend key
// (any kms URI) is version n of a key, which version is active, and the
// history of who created, rotated and retired them. It follows the shape of
// Vault's keysutil policies: a key is a list of versions, exactly one of
// which signs; rotation adds a version and either persists completely or
// leaves nothing behind.
//
// # States
//
// A version is written active and only moves forward: active -> retired
// (verify-only: Lookup still returns it for replays and verification, Active
// never does) -> revoked (Lookup refuses it too). The database enforces this
// (migrations/00003_keystore.sql): at most one active version per key,
// versions immutable but for their state, and key_events append-only.
//
// # Rotation
//
// Create, Rotate and Import prepare the new version outside any transaction
// (create the backend key, load it through the registry, test-sign and
// verify, issue its certificate), then in one transaction retire the
// current version, insert the new one, append key_events rows and call
// Options.OnEvent. On any failure before the commit the new backend key is
// destroyed (if the backend can) and the old version stays active; if the
// commit's outcome is unknown the key is kept rather than risk destroying
// an active key.
//
// # Signing side
//
// Active and Lookup serve from an immutable in-memory snapshot swapped with
// atomic.Pointer, so a rotation is seen by every request at once and a
// request never mixes the key of one version with the certificate of
// another. Rotations made by other replicas are picked up by Refresh, which
// Watch calls on PostgreSQL notifications and on a polling interval.
package keystore
