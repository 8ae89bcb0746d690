package pkcs11kms

import (
	"bytes"
	"crypto/ed25519"
	"encoding/asn1"
	"fmt"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

// PKCS#11 3.0 Ed25519 identifiers, missing from github.com/miekg/pkcs11.
const (
	ckkECEdwards           = 0x40   // CKK_EC_EDWARDS
	ckmECEdwardsKeyPairGen = 0x1055 // CKM_EC_EDWARDS_KEY_PAIR_GEN
	ckmEdDSA               = 0x1057 // CKM_EDDSA
)

// ed25519ParamsOID is CKA_EC_PARAMS for new keys: the DER of id-Ed25519,
// OID 1.3.101.112 (RFC 8410).
var ed25519ParamsOID = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}

// ed25519ParamsName is the other encoding PKCS#11 3.0 allows: the DER of
// the PrintableString "edwards25519".
var ed25519ParamsName = append([]byte{0x13, 0x0c}, "edwards25519"...)

// template returns the search template for the key pair's object of class.
func (r keyRef) template(class uint) []*pkcs11.Attribute {
	t := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards),
	}
	if r.label != "" {
		t = append(t, pkcs11.NewAttribute(pkcs11.CKA_LABEL, r.label))
	}
	if len(r.id) > 0 {
		t = append(t, pkcs11.NewAttribute(pkcs11.CKA_ID, r.id))
	}
	return t
}

// findObjects returns up to max objects matching temp.
func findObjects(c call, temp []*pkcs11.Attribute, max int) ([]pkcs11.ObjectHandle, error) {
	if err := c.api.FindObjectsInit(c.sh, temp); err != nil {
		return nil, fmt.Errorf("find objects: %w", err)
	}
	hs, _, err := c.api.FindObjects(c.sh, max)
	ferr := c.api.FindObjectsFinal(c.sh)
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("find objects: %w", err)
	}
	return hs, nil
}

// findOne returns the single object of class that r selects.
func (r keyRef) findOne(c call, class uint) (pkcs11.ObjectHandle, error) {
	hs, err := findObjects(c, r.template(class), 2)
	if err != nil {
		return 0, err
	}
	switch len(hs) {
	case 0:
		return 0, fmt.Errorf("%w: no Ed25519 %s matches", kms.ErrKeyNotFound, className(class))
	case 1:
		return hs[0], nil
	}
	return 0, fmt.Errorf("%w: several Ed25519 keys match; name one by id", kms.ErrInvalidURI)
}

func className(class uint) string {
	if class == pkcs11.CKO_PUBLIC_KEY {
		return "public key"
	}
	return "private key"
}

// describe reads the key pair r selects: its canonical reference (label and
// id as stored) and its public key.
func (r keyRef) describe(c call) (keyRef, ed25519.PublicKey, error) {
	priv, err := r.findOne(c, pkcs11.CKO_PRIVATE_KEY)
	if err != nil {
		return keyRef{}, nil, err
	}
	attrs, err := c.api.GetAttributeValue(c.sh, priv, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
		pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
	})
	if err != nil {
		return keyRef{}, nil, fmt.Errorf("read private key attributes: %w", err)
	}
	canon := keyRef{token: r.token, label: string(attrs[0].Value), id: bytes.Clone(attrs[1].Value)}
	pubH, err := canon.findOne(c, pkcs11.CKO_PUBLIC_KEY)
	if err != nil {
		return keyRef{}, nil, err
	}
	attrs, err = c.api.GetAttributeValue(c.sh, pubH, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil),
	})
	if err != nil {
		return keyRef{}, nil, fmt.Errorf("read public key attributes: %w", err)
	}
	pub, err := parsePublicKey(attrs[0].Value, attrs[1].Value)
	if err != nil {
		return keyRef{}, nil, err
	}
	return canon, pub, nil
}

// parsePublicKey decodes an Ed25519 public key object's CKA_EC_PARAMS and
// CKA_EC_POINT. The point is a DER OCTET STRING wrapping the 32-byte key
// (PKCS#11 3.0, SoftHSM2) or, in some modules, the raw 32 bytes.
func parsePublicKey(params, point []byte) (ed25519.PublicKey, error) {
	if !bytes.Equal(params, ed25519ParamsOID) && !bytes.Equal(params, ed25519ParamsName) {
		return nil, fmt.Errorf("%w: CKA_EC_PARAMS do not name Ed25519", kms.ErrInvalidKey)
	}
	if len(point) == ed25519.PublicKeySize {
		return ed25519.PublicKey(bytes.Clone(point)), nil
	}
	var raw []byte
	rest, err := asn1.Unmarshal(point, &raw)
	if err != nil || len(rest) > 0 || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: CKA_EC_POINT is not a 32-byte Ed25519 point", kms.ErrInvalidKey)
	}
	return ed25519.PublicKey(raw), nil
}

// sign runs one single-part CKM_EDDSA signature (pure Ed25519).
func sign(c call, key pkcs11.ObjectHandle, msg []byte) ([]byte, error) {
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(ckmEdDSA, nil)}
	if err := c.api.SignInit(c.sh, mech, key); err != nil {
		return nil, fmt.Errorf("sign init: %w", err)
	}
	sig, err := c.api.Sign(c.sh, msg)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}
