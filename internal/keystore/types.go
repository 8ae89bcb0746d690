package keystore

import (
	"crypto/ed25519"
	"crypto/x509"
	"time"

	"github.com/appsign/signer/internal/kms"
)

// State is where a key version is in its life.
type State string

// Version states.
const (
	// StateActive: the version signs. A key has at most one.
	StateActive State = "active"
	// StateRetired: verify-only. Lookup returns it (replays, verification);
	// Active never does.
	StateRetired State = "retired"
	// StateRevoked: neither signs nor is looked up.
	StateRevoked State = "revoked"
)

// Role is what a key is for. Archive-signing keys have a certificate per
// version, issued by the Store's Issuer on Create and Rotate, and must
// pure-sign whole archives. CA and ledger keys are versioned the same way
// but get no certificate from the Store (a CA's certificate comes from its
// parent, outside this package).
type Role string

// Key roles.
const (
	RoleArchiveSigning Role = "archive-signing"
	RoleCA             Role = "ca"
	RoleLedger         Role = "ledger"
)

func (r Role) valid() bool {
	return r == RoleArchiveSigning || r == RoleCA || r == RoleLedger
}

// Version is one version of a key: a backend key and, for archive-signing
// keys, its certificate. Versions are immutable but for State and RetiredAt.
type Version struct {
	Name       string
	Version    int32
	BackendURI kms.URI
	PublicKey  ed25519.PublicKey
	// Cert is the signing certificate; nil for roles other than archive-signing
	// unless one was imported.
	Cert        *x509.Certificate
	State       State
	CreatedAt   time.Time
	ActivatedAt time.Time
	// RetiredAt is when the version stopped signing; nil while active.
	RetiredAt *time.Time
	// Actor is who created or imported the version.
	Actor string
}

// Key is a named key and its versions, oldest first.
type Key struct {
	Name      string
	Role      Role
	CreatedAt time.Time
	CreatedBy string
	Versions  []Version
}

// Active returns the active version, or nil when none is.
func (k Key) Active() *Version {
	for i := range k.Versions {
		if k.Versions[i].State == StateActive {
			return &k.Versions[i]
		}
	}
	return nil
}

// BackendSpec says where Create and Rotate make the new backend key.
type BackendSpec struct {
	// Scheme is the registry scheme of a kms.KeyCreator ("softkms", "pkcs11",
	// ...). Rotate with an empty Scheme uses the active version's backend.
	Scheme string
	// Attrs are backend-specific attributes of the new key (kms.CreateKeyRequest.Attrs).
	Attrs map[string]string
}

// Loaded is a key version with its signer, as the signing path uses it.
// Loaded values are shared between callers and must not be modified. The
// Signer is owned by the Store and closed by Store.Close.
type Loaded struct {
	Version
	Signer kms.Signer
}

// EventKind names what happened to a key version.
type EventKind string

// Event kinds, as stored in key_events.event.
const (
	EventCreated  EventKind = "created"  // version 1 of a new key, made in a backend
	EventImported EventKind = "imported" // an existing backend key registered as a new version
	EventRotated  EventKind = "rotated"  // a new version made in a backend replaced the active one
	EventRetired  EventKind = "retired"  // a version stopped signing
	EventRevoked  EventKind = "revoked"  // a revocation of the key or its certificate revoked the version
)

// Event is one row of key_events, the append-only history of keys.
type Event struct {
	// ID is the row's identity, increasing in commit order within a key.
	ID      int64
	Name    string
	Version int32
	Kind    EventKind
	Actor   string
	At      time.Time
	Detail  EventDetail
}

// EventDetail is the detail column of key_events (JSON). Fields that do not
// apply to an event are empty.
type EventDetail struct {
	Role       Role   `json:"role,omitempty"`
	BackendURI string `json:"backend_uri,omitempty"`
	// PublicKey is the version's Ed25519 public key, lowercase hex.
	PublicKey string `json:"public_key,omitempty"`
	// CertSerial is the certificate's serial, lowercase hex as the ledger stores it.
	CertSerial string `json:"cert_serial,omitempty"`
	// CertSHA256 is the SHA-256 of the certificate's DER, lowercase hex.
	CertSHA256 string `json:"cert_sha256,omitempty"`
	// Replaces is the version this one replaced as active (rotated, imported).
	Replaces int32 `json:"replaces,omitempty"`
	// ReplacedBy is the version that replaced this one (retired by rotation).
	ReplacedBy int32 `json:"replaced_by,omitempty"`
	// RevocationID, Reason and EffectiveFrom (RFC 3339) are those of the
	// revocation that revoked the version (revoked).
	RevocationID  int64  `json:"revocation_id,omitempty"`
	Reason        string `json:"reason,omitempty"`
	EffectiveFrom string `json:"effective_from,omitempty"`
}
