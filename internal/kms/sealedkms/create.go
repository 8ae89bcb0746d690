package sealedkms

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CreateKey generates an Ed25519 key locally, seals it with KMS Encrypt
// under the KEK (the request's "kek" attribute, else Options.KEK) and the
// encryption context {appsign-key: Name, appsign-purpose: Purpose,
// appsign-environment: Environment}, and writes Dir/Name.sealed (0600). It
// refuses to replace an existing file. The clear key is wiped before return.
func (b *Backend) CreateKey(ctx context.Context, req kmsapi.CreateKeyRequest) (kmsapi.URI, error) {
	if err := b.checkOpen(); err != nil {
		return kmsapi.URI{}, err
	}
	if b.opts.Dir == "" {
		return kmsapi.URI{}, fmt.Errorf("sealedkms: create key: %w: no key directory configured", kmsapi.ErrUnsupported)
	}
	if !nameRE.MatchString(req.Name) {
		return kmsapi.URI{}, fmt.Errorf("sealedkms: create key: name %q: use letters, digits, '.', '_' or '-' (at most 128)", req.Name)
	}
	for k := range req.Attrs {
		if k != "kek" {
			return kmsapi.URI{}, fmt.Errorf("sealedkms: create key: %w: unknown attribute %q", kmsapi.ErrInvalidURI, k)
		}
	}
	kek := req.Attrs["kek"]
	if kek == "" {
		kek = b.opts.KEK
	}
	if kek == "" {
		return kmsapi.URI{}, fmt.Errorf("sealedkms: create key %s: no key encryption key configured", req.Name)
	}
	purpose := req.Purpose
	if purpose == "" {
		purpose = "signing"
	}
	if err := os.MkdirAll(b.opts.Dir, 0o700); err != nil {
		return kmsapi.URI{}, fmt.Errorf("sealedkms: create key directory: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(b.opts.Dir, req.Name+".sealed"))
	if err != nil {
		return kmsapi.URI{}, fmt.Errorf("sealedkms: create key: %w", err)
	}
	f, err := createFile(path)
	if err != nil {
		return kmsapi.URI{}, err
	}
	env, err := b.seal(ctx, kek, map[string]string{ctxKey: req.Name, ctxPurpose: purpose, ctxEnvironment: b.opts.Environment})
	if err == nil {
		err = writeEnvelope(f, env)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("sealedkms: close key file %s: %w", path, cerr)
	}
	if err != nil {
		os.Remove(path)
		return kmsapi.URI{}, fmt.Errorf("sealedkms: create key %s: %w", req.Name, err)
	}
	return keyURI(path, env.KEK), nil
}

// seal generates a key and returns its envelope sealed under kek.
func (b *Backend) seal(ctx context.Context, kek string, ec map[string]string) (*envelope, error) {
	pub, priv, err := ed25519.GenerateKey(b.opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	defer clear(priv)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	defer clear(der)
	out, err := awscall.Do(ctx, b.retry, "Encrypt", func(ctx context.Context) (*kms.EncryptOutput, error) {
		return b.opts.Client.Encrypt(ctx, &kms.EncryptInput{
			KeyId:               aws.String(kek),
			Plaintext:           der,
			EncryptionContext:   ec,
			EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
		}, awscall.NoSDKRetry)
	})
	if err != nil {
		return nil, fmt.Errorf("seal with key encryption key %s: %w", kek, err)
	}
	return &envelope{
		Format:              envelopeFormat,
		Version:             envelopeVersion,
		KEK:                 aws.ToString(out.KeyId),
		EncryptionAlgorithm: string(types.EncryptionAlgorithmSpecSymmetricDefault),
		Context:             ec,
		PublicKey:           pub,
		SealedKey:           out.CiphertextBlob,
		Created:             b.opts.Clock().UTC(),
	}, nil
}

// DestroyKey removes the sealed key file. The KEK is shared and untouched.
func (b *Backend) DestroyKey(ctx context.Context, uri kmsapi.URI) error {
	ref, err := parseURI(uri)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(ref.path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sealedkms: destroy %s: %w", uri, kmsapi.ErrKeyNotFound)
		}
		return fmt.Errorf("sealedkms: destroy %s: %w", uri, err)
	}
	return nil
}
