package kmsemu

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"
)

// Key specs, usages, algorithms and states, as spelled on the wire.
const (
	SpecSymmetric = "SYMMETRIC_DEFAULT"
	SpecEd25519   = "ECC_NIST_EDWARDS25519"

	UsageEncryptDecrypt = "ENCRYPT_DECRYPT"
	UsageSignVerify     = "SIGN_VERIFY"

	AlgEd25519   = "ED25519_SHA_512"
	AlgEd25519ph = "ED25519_PH_SHA_512"

	StateEnabled         = "Enabled"
	StateDisabled        = "Disabled"
	StatePendingDeletion = "PendingDeletion"
)

// key is one KMS key. Spec, Usage, Material and the derived priv/aead never
// change after creation; State, DeletionDate, PendingDays and denied are
// guarded by Server.mu.
type key struct {
	ID           string    `json:"id"`
	Spec         string    `json:"spec"`
	Usage        string    `json:"usage"`
	State        string    `json:"state"`
	Created      time.Time `json:"created"`
	DeletionDate time.Time `json:"deletion_date,omitzero"`
	PendingDays  int32     `json:"pending_days,omitempty"`
	Description  string    `json:"description,omitempty"`
	Tags         []tag     `json:"tags,omitempty"`
	// Material is the Ed25519 seed or the AES-256 key.
	Material []byte `json:"material"`

	denied bool
	priv   ed25519.PrivateKey
	aead   cipher.AEAD
}

type tag struct {
	TagKey   string
	TagValue string
}

type alias struct {
	Name    string    `json:"name"`
	KeyID   string    `json:"key_id"`
	Created time.Time `json:"created"`
}

// prepare derives the working key objects from Material.
func (k *key) prepare() error {
	switch k.Spec {
	case SpecEd25519:
		if len(k.Material) != ed25519.SeedSize {
			return fmt.Errorf("kmsemu: key %s: bad Ed25519 seed length", k.ID)
		}
		k.priv = ed25519.NewKeyFromSeed(k.Material)
	case SpecSymmetric:
		block, err := aes.NewCipher(k.Material)
		if err != nil || len(k.Material) != 32 {
			return fmt.Errorf("kmsemu: key %s: bad AES-256 key", k.ID)
		}
		if k.aead, err = cipher.NewGCM(block); err != nil {
			return fmt.Errorf("kmsemu: key %s: %w", k.ID, err)
		}
	default:
		return fmt.Errorf("kmsemu: key %s: unsupported key spec %q", k.ID, k.Spec)
	}
	return nil
}

func (s *Server) keyARN(id string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", s.opts.Region, s.opts.AccountID, id)
}

func (s *Server) aliasARN(name string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:%s", s.opts.Region, s.opts.AccountID, name)
}

// lookupLocked resolves a key id, key ARN, alias name or alias ARN, the
// identifiers KMS accepts for KeyId. Keys whose deletion date has passed are
// deleted on the way. The caller holds s.mu.
func (s *Server) lookupLocked(ref string) (*key, *apiError) {
	if ref == "" {
		return nil, validationf("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	id := ref
	if rest, ok := strings.CutPrefix(ref, "arn:"); ok {
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[0] != "aws" || parts[1] != "kms" {
			return nil, errorf("InvalidArnException", "%s is not a valid KMS ARN", ref)
		}
		if parts[2] != s.opts.Region || parts[3] != s.opts.AccountID {
			return nil, notFoundf("Key '%s' does not exist", ref)
		}
		id = parts[4]
		if r, ok := strings.CutPrefix(id, "key/"); ok {
			id = r
		}
	}
	if strings.HasPrefix(id, "alias/") {
		a, ok := s.aliases[id]
		if !ok {
			return nil, notFoundf("Alias '%s' is not found.", s.aliasARN(id))
		}
		id = a.KeyID
	}
	k, ok := s.keys[id]
	if !ok {
		return nil, notFoundf("Key '%s' does not exist", s.keyARN(id))
	}
	if k.State == StatePendingDeletion && !s.now().Before(k.DeletionDate) {
		s.deleteKeyLocked(k.ID)
		return nil, notFoundf("Key '%s' does not exist", s.keyARN(id))
	}
	return k, nil
}

func (s *Server) deleteKeyLocked(id string) {
	delete(s.keys, id)
	for name, a := range s.aliases {
		if a.KeyID == id {
			delete(s.aliases, name)
		}
	}
	s.dirty = true
}

// allowedLocked resolves ref for operation op and applies the DenyKey
// fault, as KMS checks the key's existence before the caller's permission.
func (s *Server) allowedLocked(ref, op string) (*key, *apiError) {
	k, e := s.lookupLocked(ref)
	if e != nil {
		return nil, e
	}
	if e := s.accessLocked(k, op); e != nil {
		return nil, e
	}
	return k, nil
}

// usableLocked resolves ref for a cryptographic operation op: the key must
// be allowed for the caller and enabled.
func (s *Server) usableLocked(ref, op string) (*key, *apiError) {
	k, e := s.allowedLocked(ref, op)
	if e != nil {
		return nil, e
	}
	switch k.State {
	case StateEnabled:
		return k, nil
	case StateDisabled:
		return nil, errorf("DisabledException", "%s is disabled.", s.keyARN(k.ID))
	default:
		return nil, errorf("KMSInvalidStateException", "%s is pending deletion.", s.keyARN(k.ID))
	}
}

// accessLocked applies the DenyKey fault, worded like an IAM denial.
func (s *Server) accessLocked(k *key, op string) *apiError {
	if !k.denied {
		return nil
	}
	return errorf("AccessDeniedException",
		"User: arn:aws:iam::%s:user/kmsemu is not authorized to perform: kms:%s on resource: %s because no resource-based policy allows the kms:%s action",
		s.opts.AccountID, op, s.keyARN(k.ID), op)
}
