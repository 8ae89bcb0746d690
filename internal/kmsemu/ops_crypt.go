package kmsemu

import (
	"io"
)

// maxPlaintext is the largest plaintext KMS Encrypt accepts.
const maxPlaintext = 4096

// encryptingKey resolves the key of an Encrypt, Decrypt or GenerateDataKey
// request: it must be an enabled symmetric key the caller may use.
func (s *Server) encryptingKey(ref, op string) (*key, *apiError) {
	s.mu.Lock()
	k, e := s.usableLocked(ref, op)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if k.Usage != UsageEncryptDecrypt {
		return nil, errorf("InvalidKeyUsageException", "%s key usage is %s which is not valid for %s.", s.keyARN(k.ID), k.Usage, op)
	}
	return k, nil
}

func checkAlgorithm(alg string) *apiError {
	if alg != "" && alg != SpecSymmetric {
		return errorf("InvalidKeyUsageException", "kmsemu supports EncryptionAlgorithm %s only", SpecSymmetric)
	}
	return nil
}

// seal encrypts plaintext under k with ec bound as additional data.
func (s *Server) seal(k *key, plaintext []byte, ec map[string]string) ([]byte, *apiError) {
	header := blobHeader(k.ID)
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := io.ReadFull(s.opts.Rand, nonce); err != nil {
		return nil, internalError("kmsemu: no entropy")
	}
	blob := append(append([]byte(nil), header...), nonce...)
	return k.aead.Seal(blob, nonce, plaintext, contextAAD(header, ec)), nil
}

func (s *Server) encrypt(body []byte) (any, *apiError) {
	var in struct {
		KeyId               string
		Plaintext           []byte
		EncryptionContext   map[string]string
		EncryptionAlgorithm string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if len(in.Plaintext) < 1 || len(in.Plaintext) > maxPlaintext {
		return nil, validationf("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and %d", maxPlaintext)
	}
	if e := checkAlgorithm(in.EncryptionAlgorithm); e != nil {
		return nil, e
	}
	k, e := s.encryptingKey(in.KeyId, "Encrypt")
	if e != nil {
		return nil, e
	}
	blob, e := s.seal(k, in.Plaintext, in.EncryptionContext)
	if e != nil {
		return nil, e
	}
	return struct {
		CiphertextBlob      []byte
		KeyId               string
		EncryptionAlgorithm string
	}{blob, s.keyARN(k.ID), SpecSymmetric}, nil
}

func (s *Server) decrypt(body []byte) (any, *apiError) {
	var in struct {
		CiphertextBlob      []byte
		KeyId               string
		EncryptionContext   map[string]string
		EncryptionAlgorithm string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkAlgorithm(in.EncryptionAlgorithm); e != nil {
		return nil, e
	}
	// 12 is the GCM nonce size of every key this server makes.
	keyID, header, nonce, sealed, ok := parseBlob(in.CiphertextBlob, 12)
	if !ok {
		return nil, errorf("InvalidCiphertextException", "")
	}
	if in.KeyId != "" {
		s.mu.Lock()
		want, e := s.lookupLocked(in.KeyId)
		s.mu.Unlock()
		if e != nil {
			return nil, e
		}
		if want.ID != keyID {
			return nil, errorf("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	k, e := s.encryptingKey(keyID, "Decrypt")
	if e != nil {
		return nil, e
	}
	plaintext, err := k.aead.Open(nil, nonce, sealed, contextAAD(header, in.EncryptionContext))
	if err != nil {
		// KMS gives no detail either: a wrong context looks like a corrupt blob.
		return nil, errorf("InvalidCiphertextException", "")
	}
	return struct {
		KeyId               string
		Plaintext           []byte
		EncryptionAlgorithm string
	}{s.keyARN(k.ID), plaintext, SpecSymmetric}, nil
}

func (s *Server) generateDataKey(body []byte) (any, *apiError) {
	var in struct {
		KeyId             string
		KeySpec           string
		NumberOfBytes     int
		EncryptionContext map[string]string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	n := in.NumberOfBytes
	switch {
	case in.KeySpec == "AES_256" && n == 0:
		n = 32
	case in.KeySpec == "AES_128" && n == 0:
		n = 16
	case in.KeySpec == "" && n >= 1 && n <= 1024:
	default:
		return nil, validationf("specify either KeySpec (AES_128, AES_256) or NumberOfBytes (1 to 1024)")
	}
	k, e := s.encryptingKey(in.KeyId, "GenerateDataKey")
	if e != nil {
		return nil, e
	}
	plaintext := make([]byte, n)
	if _, err := io.ReadFull(s.opts.Rand, plaintext); err != nil {
		return nil, internalError("kmsemu: no entropy")
	}
	blob, e := s.seal(k, plaintext, in.EncryptionContext)
	if e != nil {
		return nil, e
	}
	return struct {
		CiphertextBlob []byte
		KeyId          string
		Plaintext      []byte
	}{blob, s.keyARN(k.ID), plaintext}, nil
}
