package keystore

import (
	"fmt"
	"regexp"
	"unicode"
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

// maxActor bounds the actor recorded with each change.
const maxActor = 256

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return invalidRequest(nil, "key name %q: want lowercase letters, digits and '-', starting with a letter, 2 to 63 long", name)
	}
	return nil
}

func checkVersion(v int32) error {
	if v < 1 {
		return invalidRequest(nil, "version %d: versions start at 1", v)
	}
	return nil
}

func checkActor(actor string) error {
	if actor == "" {
		return fmt.Errorf("%w: actor is required", ErrInvalidRequest)
	}
	if len(actor) > maxActor {
		return fmt.Errorf("%w: actor longer than %d bytes", ErrInvalidRequest, maxActor)
	}
	for _, r := range actor {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%w: actor has a control character or invalid UTF-8", ErrInvalidRequest)
		}
	}
	return nil
}

func checkRole(role Role) error {
	if !role.valid() {
		return invalidRequest(nil, "role %q: want %s, %s or %s", role, RoleArchiveSigning, RoleCA, RoleLedger)
	}
	return nil
}
