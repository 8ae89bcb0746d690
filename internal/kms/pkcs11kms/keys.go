package pkcs11kms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"

	"github.com/miekg/pkcs11"

	"github.com/appsign/signer/internal/kms"
)

// ErrKeyExists is returned (wrapped) by CreateKey when the token already
// holds an object with the requested label.
var ErrKeyExists = errors.New("pkcs11: an object with this label exists on the token")

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// idSize is the length of the random CKA_ID given to new key pairs, so a
// URI can name a key unambiguously even if labels are later duplicated.
const idSize = 16

// CreateKey generates an Ed25519 key pair on the token, labelled req.Name:
// a token object, private, sensitive, never extractable, allowed to sign.
// It refuses a label that any object on the token already has. The check
// and the generation are atomic only within this process.
func (b *Backend) CreateKey(ctx context.Context, req kms.CreateKeyRequest) (kms.URI, error) {
	if err := ctx.Err(); err != nil {
		return kms.URI{}, err
	}
	if !nameRE.MatchString(req.Name) {
		return kms.URI{}, fmt.Errorf("pkcs11: create key: name %q: use letters, digits, '.', '_' or '-' (at most 128)", req.Name)
	}
	for k, v := range req.Attrs {
		if k != "token" || v != b.opts.TokenLabel {
			return kms.URI{}, fmt.Errorf("pkcs11: create key %q: %w: attribute %q is not supported (the token is %q)", req.Name, kms.ErrInvalidURI, k, b.opts.TokenLabel)
		}
	}
	id := make([]byte, idSize)
	if _, err := rand.Read(id); err != nil {
		return kms.URI{}, fmt.Errorf("pkcs11: create key %q: %w", req.Name, err)
	}
	ref := keyRef{token: b.opts.TokenLabel, label: req.Name, id: id}
	b.createMu.Lock()
	defer b.createMu.Unlock()
	err := b.p.do(ctx, func(c call) error {
		taken, err := findObjects(c, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, req.Name)}, 1)
		if err != nil {
			return err
		}
		if len(taken) > 0 {
			return ErrKeyExists
		}
		_, _, err = c.api.GenerateKeyPair(c.sh,
			[]*pkcs11.Mechanism{pkcs11.NewMechanism(ckmECEdwardsKeyPairGen, nil)},
			publicTemplate(ref), privateTemplate(ref))
		if err != nil {
			return fmt.Errorf("generate key pair: %w", err)
		}
		return nil
	})
	if err != nil {
		return kms.URI{}, fmt.Errorf("pkcs11: create key %q on token %q: %w", req.Name, b.opts.TokenLabel, err)
	}
	return ref.uri(), nil
}

func publicTemplate(r keyRef) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, ed25519ParamsOID),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, r.label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, r.id),
	}
}

func privateTemplate(r keyRef) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, r.label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, r.id),
	}
}

// DestroyKey destroys the private and public key objects uri selects.
// A URI that selects no private key gives kms.ErrKeyNotFound.
func (b *Backend) DestroyKey(ctx context.Context, uri kms.URI) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ref, err := parseKeyURI(uri, b.opts.TokenLabel)
	if err != nil {
		return err
	}
	err = b.p.do(ctx, func(c call) error {
		priv, err := ref.findOne(c, pkcs11.CKO_PRIVATE_KEY)
		if err != nil {
			return err
		}
		pubs, err := findObjects(c, ref.template(pkcs11.CKO_PUBLIC_KEY), 2)
		if err != nil {
			return err
		}
		if err := c.api.DestroyObject(c.sh, priv); err != nil {
			return fmt.Errorf("destroy private key: %w", err)
		}
		if len(pubs) == 1 {
			if err := c.api.DestroyObject(c.sh, pubs[0]); err != nil {
				return fmt.Errorf("destroy public key: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pkcs11: destroy %s: %w", uri, err)
	}
	return nil
}
