package softkms

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/appsign/signer/internal/kms"
)

// EncryptedPEMType is the PEM block type of passphrase-encrypted key files.
//
// The block holds the DER of
//
//	Envelope ::= SEQUENCE {
//	    header     Header,        -- authenticated as additional data, byte for byte
//	    ciphertext OCTET STRING   -- XChaCha20-Poly1305(key, nonce, PKCS#8 DER, header)
//	}
//	Header ::= SEQUENCE {
//	    version    INTEGER,       -- 1
//	    kdf        PrintableString, -- "argon2id"
//	    time       INTEGER,       -- Argon2id passes
//	    memoryKiB  INTEGER,
//	    threads    INTEGER,
//	    salt       OCTET STRING,  -- 16 random bytes
//	    aead       PrintableString, -- "xchacha20-poly1305"
//	    nonce      OCTET STRING   -- 24 random bytes
//	}
//
// where key = Argon2id(passphrase, salt, time, memoryKiB, threads, 32 bytes).
const EncryptedPEMType = "SIGNER ENCRYPTED PRIVATE KEY"

// Default Argon2id cost of new encrypted key files (RFC 9106's second
// recommended option uses t=3 with 64 MiB).
const (
	DefaultKDFTime      = 3
	DefaultKDFMemoryKiB = 64 << 10
	DefaultKDFThreads   = 2
)

// Bounds on the cost recorded in a key file, so that a crafted file cannot
// make loading it take unbounded memory or time.
const (
	maxKDFTime      = 64
	maxKDFMemoryKiB = 1 << 20 // 1 GiB
	maxKDFThreads   = 64
)

const (
	envelopeVersion = 1
	kdfArgon2id     = "argon2id"
	aeadXChaCha     = "xchacha20-poly1305"
	saltSize        = 16
)

// errWrongPassphrase is the one answer to any failure to open the
// envelope: the AEAD cannot tell a wrong passphrase from a changed file.
var errWrongPassphrase = fmt.Errorf("%w: wrong passphrase or corrupted key file", kms.ErrPermission)

// KDFParams are the Argon2id costs of an encrypted key file.
type KDFParams struct {
	// Time is the number of passes over the memory.
	Time uint32
	// MemoryKiB is the memory size in KiB.
	MemoryKiB uint32
	// Threads is the degree of parallelism.
	Threads uint8
}

func (p KDFParams) withDefaults() KDFParams {
	if p.Time == 0 {
		p.Time = DefaultKDFTime
	}
	if p.MemoryKiB == 0 {
		p.MemoryKiB = DefaultKDFMemoryKiB
	}
	if p.Threads == 0 {
		p.Threads = DefaultKDFThreads
	}
	return p
}

func (p KDFParams) String() string {
	return fmt.Sprintf("argon2id t=%d m=%dKiB p=%d", p.Time, p.MemoryKiB, p.Threads)
}

func (p KDFParams) check() error {
	switch {
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Errorf("%w: %s: time must be 1..%d", kms.ErrInvalidKey, p, maxKDFTime)
	case p.Threads < 1 || p.Threads > maxKDFThreads:
		return fmt.Errorf("%w: %s: threads must be 1..%d", kms.ErrInvalidKey, p, maxKDFThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("%w: %s: memory must be 8 KiB per thread up to %d KiB", kms.ErrInvalidKey, p, maxKDFMemoryKiB)
	}
	return nil
}

type envelope struct {
	Header     asn1.RawValue
	Ciphertext []byte
}

type envelopeHeader struct {
	Version   int
	KDF       string `asn1:"printable"`
	Time      int64
	MemoryKiB int64
	Threads   int64
	Salt      []byte
	AEAD      string `asn1:"printable"`
	Nonce     []byte
}

// EncryptPrivateKeyPEM seals priv under passphrase in an EncryptedPEMType
// block. Zero fields of params take the defaults; rand nil means crypto/rand.
func EncryptPrivateKeyPEM(priv ed25519.PrivateKey, passphrase []byte, params KDFParams, rand io.Reader) ([]byte, error) {
	out, err := encryptPEM(priv, passphrase, params, rand)
	if err != nil {
		return nil, fmt.Errorf("softkms: encrypt key: %w", err)
	}
	return out, nil
}

func encryptPEM(priv ed25519.PrivateKey, passphrase []byte, params KDFParams, random io.Reader) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty passphrase", kms.ErrPermission)
	}
	if random == nil {
		random = rand.Reader
	}
	params = params.withDefaults()
	if err := params.check(); err != nil {
		return nil, err
	}
	hdr := envelopeHeader{
		Version: envelopeVersion, KDF: kdfArgon2id,
		Time: int64(params.Time), MemoryKiB: int64(params.MemoryKiB), Threads: int64(params.Threads),
		Salt: make([]byte, saltSize), AEAD: aeadXChaCha, Nonce: make([]byte, chacha20poly1305.NonceSizeX),
	}
	if _, err := io.ReadFull(random, hdr.Salt); err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	if _, err := io.ReadFull(random, hdr.Nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	header, err := asn1.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	defer clear(der)
	key := argon2.IDKey(passphrase, hdr.Salt, params.Time, params.MemoryKiB, params.Threads, chacha20poly1305.KeySize)
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	body, err := asn1.Marshal(envelope{
		Header:     asn1.RawValue{FullBytes: header},
		Ciphertext: aead.Seal(nil, hdr.Nonce, der, header),
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: EncryptedPEMType, Bytes: body}), nil
}

// DecryptPrivateKeyPEM opens an EncryptedPEMType block. A file whose KDF
// cost is below min (zero fields take the defaults) or beyond sane bounds
// gives kms.ErrInvalidKey before any key derivation; a wrong passphrase or
// any change to the file gives kms.ErrPermission.
func DecryptPrivateKeyPEM(data, passphrase []byte, min KDFParams) (ed25519.PrivateKey, error) {
	priv, err := decryptPEM(data, passphrase, min)
	if err != nil {
		return nil, fmt.Errorf("softkms: decrypt key: %w", err)
	}
	return priv, nil
}

func decryptPEM(data, passphrase []byte, min KDFParams) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != EncryptedPEMType {
		return nil, fmt.Errorf("%w: want a PEM %q block", kms.ErrInvalidKey, EncryptedPEMType)
	}
	hdr, env, err := parseEnvelope(block.Bytes)
	if err != nil {
		return nil, err
	}
	params := KDFParams{Time: uint32(hdr.Time), MemoryKiB: uint32(hdr.MemoryKiB), Threads: uint8(hdr.Threads)}
	min = min.withDefaults()
	if params.Time < min.Time || params.MemoryKiB < min.MemoryKiB {
		return nil, fmt.Errorf("%w: the file's key derivation (%s) is weaker than the configured minimum (%s); re-encrypt it", kms.ErrInvalidKey, params, min)
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty passphrase", kms.ErrPermission)
	}
	key := argon2.IDKey(passphrase, hdr.Salt, params.Time, params.MemoryKiB, params.Threads, chacha20poly1305.KeySize)
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	der, err := aead.Open(nil, hdr.Nonce, env.Ciphertext, env.Header.FullBytes)
	if err != nil {
		return nil, errWrongPassphrase
	}
	defer clear(der)
	return parsePKCS8(der)
}

// parseEnvelope decodes and checks the envelope structure. Values that
// fail the bounds are refused before the (costly) key derivation.
func parseEnvelope(body []byte) (envelopeHeader, envelope, error) {
	malformed := func(what string) error {
		return fmt.Errorf("%w: malformed encrypted key file: %s", kms.ErrInvalidKey, what)
	}
	var env envelope
	if rest, err := asn1.Unmarshal(body, &env); err != nil || len(rest) > 0 {
		return envelopeHeader{}, envelope{}, malformed("envelope")
	}
	var hdr envelopeHeader
	if rest, err := asn1.Unmarshal(env.Header.FullBytes, &hdr); err != nil || len(rest) > 0 {
		return envelopeHeader{}, envelope{}, malformed("header")
	}
	switch {
	case hdr.Version != envelopeVersion:
		return envelopeHeader{}, envelope{}, fmt.Errorf("%w: encrypted key file version %d, want %d", kms.ErrInvalidKey, hdr.Version, envelopeVersion)
	case hdr.KDF != kdfArgon2id:
		return envelopeHeader{}, envelope{}, malformed("unsupported KDF")
	case hdr.AEAD != aeadXChaCha:
		return envelopeHeader{}, envelope{}, malformed("unsupported cipher")
	case len(hdr.Salt) < saltSize || len(hdr.Salt) > 64:
		return envelopeHeader{}, envelope{}, malformed("salt size")
	case len(hdr.Nonce) != chacha20poly1305.NonceSizeX:
		return envelopeHeader{}, envelope{}, malformed("nonce size")
	case hdr.Time < 0 || hdr.Time > maxKDFTime || hdr.MemoryKiB < 0 || hdr.MemoryKiB > maxKDFMemoryKiB || hdr.Threads < 0 || hdr.Threads > maxKDFThreads:
		return envelopeHeader{}, envelope{}, malformed("KDF parameters out of bounds")
	}
	params := KDFParams{Time: uint32(hdr.Time), MemoryKiB: uint32(hdr.MemoryKiB), Threads: uint8(hdr.Threads)}
	if err := params.check(); err != nil {
		return envelopeHeader{}, envelope{}, err
	}
	return hdr, env, nil
}

// WriteEncryptedKeyFile writes priv sealed under passphrase to path with
// mode 0600, refusing to replace an existing file.
func WriteEncryptedKeyFile(path string, priv ed25519.PrivateKey, passphrase []byte, params KDFParams, rand io.Reader) error {
	data, err := EncryptPrivateKeyPEM(priv, passphrase, params, rand)
	if err != nil {
		return err
	}
	return writeNewFile(path, data)
}
