package kmsemu

import (
	"io"
	"time"
)

// keyMetadata is the wire form of types.KeyMetadata.
type keyMetadata struct {
	AWSAccountId                string
	Arn                         string
	CreationDate                epoch
	CustomerMasterKeySpec       string
	DeletionDate                *epoch `json:",omitempty"`
	Description                 string
	Enabled                     bool
	EncryptionAlgorithms        []string `json:",omitempty"`
	KeyId                       string
	KeyManager                  string
	KeySpec                     string
	KeyState                    string
	KeyUsage                    string
	MultiRegion                 bool
	Origin                      string
	PendingDeletionWindowInDays int32    `json:",omitempty"`
	SigningAlgorithms           []string `json:",omitempty"`
}

func (s *Server) metadataLocked(k *key) keyMetadata {
	m := keyMetadata{
		AWSAccountId:          s.opts.AccountID,
		Arn:                   s.keyARN(k.ID),
		CreationDate:          toEpoch(k.Created),
		CustomerMasterKeySpec: k.Spec,
		Description:           k.Description,
		Enabled:               k.State == StateEnabled,
		KeyId:                 k.ID,
		KeyManager:            "CUSTOMER",
		KeySpec:               k.Spec,
		KeyState:              k.State,
		KeyUsage:              k.Usage,
		Origin:                "AWS_KMS",
	}
	if k.State == StatePendingDeletion {
		m.DeletionDate = optEpoch(k.DeletionDate)
		m.PendingDeletionWindowInDays = k.PendingDays
	}
	switch k.Spec {
	case SpecEd25519:
		m.SigningAlgorithms = []string{AlgEd25519, AlgEd25519ph}
	case SpecSymmetric:
		m.EncryptionAlgorithms = []string{SpecSymmetric}
	}
	return m
}

type keyIDInput struct {
	KeyId string
}

func (s *Server) createKey(body []byte) (any, *apiError) {
	var in struct {
		KeySpec               string
		CustomerMasterKeySpec string
		KeyUsage              string
		Description           string
		Origin                string
		MultiRegion           bool
		Tags                  []tag
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	}
	if spec == "" {
		spec = SpecSymmetric
	}
	usage := in.KeyUsage
	if usage == "" {
		usage = UsageEncryptDecrypt
	}
	var n int
	switch {
	case spec == SpecSymmetric && usage == UsageEncryptDecrypt:
		n = 32
	case spec == SpecEd25519 && usage == UsageSignVerify:
		n = 32
	case spec == SpecSymmetric || spec == SpecEd25519:
		return nil, validationf("KeyUsage %s is not compatible with KeySpec %s", usage, spec)
	default:
		return nil, errorf("UnsupportedOperationException", "kmsemu supports key specs %s and %s, not %s", SpecSymmetric, SpecEd25519, spec)
	}
	if in.Origin != "" && in.Origin != "AWS_KMS" {
		return nil, errorf("UnsupportedOperationException", "kmsemu supports Origin AWS_KMS only")
	}
	if in.MultiRegion {
		return nil, errorf("UnsupportedOperationException", "kmsemu does not support multi-Region keys")
	}
	if len(in.Description) > 8192 {
		return nil, validationf("Description is longer than 8192 characters")
	}
	id, err := s.newID()
	if err != nil {
		return nil, internalError("kmsemu: no entropy")
	}
	k := &key{
		ID: id, Spec: spec, Usage: usage, State: StateEnabled,
		Created: s.now().UTC(), Description: in.Description, Tags: in.Tags,
		Material: make([]byte, n),
	}
	if _, err := io.ReadFull(s.opts.Rand, k.Material); err != nil {
		return nil, internalError("kmsemu: no entropy")
	}
	if err := k.prepare(); err != nil {
		return nil, internalError("kmsemu: key generation failed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = k
	s.dirty = true
	return struct{ KeyMetadata keyMetadata }{s.metadataLocked(k)}, nil
}

func (s *Server) describeKey(body []byte) (any, *apiError) {
	var in keyIDInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, e := s.allowedLocked(in.KeyId, "DescribeKey")
	if e != nil {
		return nil, e
	}
	return struct{ KeyMetadata keyMetadata }{s.metadataLocked(k)}, nil
}

func (s *Server) setEnabled(body []byte, enabled bool) (any, *apiError) {
	var in keyIDInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	op := map[bool]string{true: "EnableKey", false: "DisableKey"}[enabled]
	s.mu.Lock()
	defer s.mu.Unlock()
	k, e := s.allowedLocked(in.KeyId, op)
	if e != nil {
		return nil, e
	}
	if k.State == StatePendingDeletion {
		return nil, errorf("KMSInvalidStateException", "%s is pending deletion.", s.keyARN(k.ID))
	}
	k.State = map[bool]string{true: StateEnabled, false: StateDisabled}[enabled]
	s.dirty = true
	return struct{}{}, nil
}

func (s *Server) scheduleKeyDeletion(body []byte) (any, *apiError) {
	var in struct {
		KeyId               string
		PendingWindowInDays int32
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.PendingWindowInDays == 0 {
		in.PendingWindowInDays = 30
	}
	if in.PendingWindowInDays < 7 || in.PendingWindowInDays > 30 {
		return nil, validationf("1 validation error detected: Value '%d' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30", in.PendingWindowInDays)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, e := s.allowedLocked(in.KeyId, "ScheduleKeyDeletion")
	if e != nil {
		return nil, e
	}
	if k.State == StatePendingDeletion {
		return nil, errorf("KMSInvalidStateException", "%s is pending deletion.", s.keyARN(k.ID))
	}
	k.State = StatePendingDeletion
	k.PendingDays = in.PendingWindowInDays
	k.DeletionDate = s.now().UTC().Add(time.Duration(in.PendingWindowInDays) * 24 * time.Hour)
	s.dirty = true
	return struct {
		KeyId               string
		DeletionDate        epoch
		KeyState            string
		PendingWindowInDays int32
	}{s.keyARN(k.ID), toEpoch(k.DeletionDate), k.State, k.PendingDays}, nil
}

func (s *Server) cancelKeyDeletion(body []byte) (any, *apiError) {
	var in keyIDInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, e := s.allowedLocked(in.KeyId, "CancelKeyDeletion")
	if e != nil {
		return nil, e
	}
	if k.State != StatePendingDeletion {
		return nil, errorf("KMSInvalidStateException", "%s is not pending deletion.", s.keyARN(k.ID))
	}
	// Like KMS, a key whose deletion is cancelled comes back disabled.
	k.State, k.DeletionDate, k.PendingDays = StateDisabled, time.Time{}, 0
	s.dirty = true
	return struct{ KeyId string }{s.keyARN(k.ID)}, nil
}
