package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/appsign/signer/internal/config"
	"github.com/appsign/signer/internal/keystore"
)

// keyToCreate is a keystore key the first start makes.
type keyToCreate struct {
	name    string
	role    keystore.Role
	backend string
}

// bootstrapKeys creates, on first start, the archive-signing key and the
// ledger key when they do not exist and the configuration names a backend
// for them (keys.archive_signing_backend, keys.ledger_backend). Every
// missing key is found before any is created, so a start that cannot
// complete (a key missing with no backend to make it in) creates nothing.
// Replicas starting together are safe: the second Create of a name gets
// keystore.ErrExists and uses the first one's key.
func bootstrapKeys(ctx context.Context, keys *keystore.Store, k config.Keys) error {
	wanted := []keyToCreate{{k.ArchiveSigning, keystore.RoleArchiveSigning, k.ArchiveSigningBackend}}
	if k.Ledger != "" && !strings.Contains(k.Ledger, ":") {
		wanted = append(wanted, keyToCreate{k.Ledger, keystore.RoleLedger, k.LedgerBackend})
	}
	var (
		create  []keyToCreate
		missing []error
	)
	for _, w := range wanted {
		existing, err := keys.Get(ctx, w.name)
		switch {
		case err == nil:
			if existing.Role != w.role {
				missing = append(missing, fmt.Errorf("key %q has role %s, want %s", w.name, existing.Role, w.role))
			}
			continue
		case !errors.Is(err, keystore.ErrNotFound):
			return err
		case w.backend == "":
			missing = append(missing, fmt.Errorf("key %q does not exist: set %s to create it on first start, or create it with `signerctl key create --role %s`", w.name, backendField(w.role), w.role))
			continue
		}
		create = append(create, w)
	}
	if len(missing) > 0 {
		return fmt.Errorf("no key was created: %w", errors.Join(missing...))
	}
	for _, w := range create {
		_, err := keys.Create(ctx, w.name, w.role, keystore.BackendSpec{Scheme: w.backend}, "signer serve (first start)")
		if err != nil && !errors.Is(err, keystore.ErrExists) { // ErrExists: another replica created it first
			return fmt.Errorf("first start: create key %q in %s: %w", w.name, w.backend, err)
		}
	}
	return nil
}

func backendField(r keystore.Role) string {
	if r == keystore.RoleLedger {
		return "keys.ledger_backend"
	}
	return "keys.archive_signing_backend"
}

// importKey imports a key kept outside the key store (the dev signing
// key), so that `signerctl key rotate` works on it as on any other key.
// Once revoked (after a rotation) it stays out: the key's active version
// signs.
func importKey(ctx context.Context, keys *keystore.Store, k *KeyImport, actor string, log *slog.Logger) error {
	_, err := keys.Import(ctx, k.Name, keystore.RoleArchiveSigning, k.URI, k.Cert, actor)
	if errors.Is(err, keystore.ErrRevoked) {
		log.Warn("the imported signing key is revoked; signing with the key's active version", "key", k.Name)
		return nil
	}
	return err
}
