package kmsemu_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/appsign/signer/internal/kmsemu"
	"github.com/appsign/signer/internal/kmsemu/emutest"
)

// noRetry turns the SDK retryer off so each test sees the first answer.
func noRetry(o *kms.Options) { o.Retryer = aws.NopRetryer{} }

func createKey(t *testing.T, c *kms.Client, spec types.KeySpec) string {
	t.Helper()
	in := &kms.CreateKeyInput{KeySpec: spec}
	if spec == types.KeySpecEccNistEdwards25519 {
		in.KeyUsage = types.KeyUsageTypeSignVerify
	}
	out, err := c.CreateKey(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateKey(%s): %v", spec, err)
	}
	return *out.KeyMetadata.Arn
}

func publicKey(t *testing.T, c *kms.Client, id string) ed25519.PublicKey {
	t.Helper()
	out, err := c.GetPublicKey(t.Context(), &kms.GetPublicKeyInput{KeyId: &id})
	if err != nil {
		t.Fatalf("GetPublicKey: %v", err)
	}
	if out.KeySpec != types.KeySpecEccNistEdwards25519 || out.KeyUsage != types.KeyUsageTypeSignVerify {
		t.Fatalf("GetPublicKey: spec %s usage %s", out.KeySpec, out.KeyUsage)
	}
	k, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		t.Fatalf("parse SPKI: %v", err)
	}
	return k.(ed25519.PublicKey)
}

func TestEd25519Sign(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	ctx := t.Context()
	id := createKey(t, c, types.KeySpecEccNistEdwards25519)
	pub := publicKey(t, c, id)
	msg := bytes.Repeat([]byte("m"), 4096)
	digest := sha512.Sum512([]byte("archive"))

	tests := []struct {
		name string
		alg  types.SigningAlgorithmSpec
		typ  types.MessageType
		msg  []byte
		ok   func(sig []byte) bool
	}{
		{"pure over RAW", types.SigningAlgorithmSpecEd25519Sha512, types.MessageTypeRaw, msg,
			func(sig []byte) bool { return ed25519.Verify(pub, msg, sig) }},
		{"Ed25519ph over DIGEST", types.SigningAlgorithmSpecEd25519PhSha512, types.MessageTypeDigest, digest[:],
			func(sig []byte) bool {
				return ed25519.VerifyWithOptions(pub, digest[:], sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.Sign(ctx, &kms.SignInput{KeyId: &id, Message: tc.msg, MessageType: tc.typ, SigningAlgorithm: tc.alg})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if *out.KeyId != id || out.SigningAlgorithm != tc.alg || !tc.ok(out.Signature) {
				t.Fatalf("Sign returned key %s alg %s and a signature that does not verify", *out.KeyId, out.SigningAlgorithm)
			}
			v, err := c.Verify(ctx, &kms.VerifyInput{KeyId: &id, Message: tc.msg, MessageType: tc.typ, SigningAlgorithm: tc.alg, Signature: out.Signature})
			if err != nil || !v.SignatureValid {
				t.Fatalf("Verify = %v, %v", v, err)
			}
		})
	}
}

func TestEncryptDecrypt(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	ctx := t.Context()
	id := createKey(t, c, types.KeySpecSymmetricDefault)
	ec := map[string]string{"key": "signing", "environment": "test"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: &id, Plaintext: []byte("sealed key"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	// No KeyId: the blob names its key.
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if string(dec.Plaintext) != "sealed key" || *dec.KeyId != id {
		t.Fatalf("Decrypt = %q from %s", dec.Plaintext, *dec.KeyId)
	}
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: &id, KeySpec: types.DataKeySpecAes256})
	if err != nil || len(dk.Plaintext) != 32 {
		t.Fatalf("GenerateDataKey = %v", err)
	}
	back, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, KeyId: &id})
	if err != nil || !bytes.Equal(back.Plaintext, dk.Plaintext) {
		t.Fatalf("Decrypt(data key) = %v", err)
	}
}

func TestAliases(t *testing.T) {
	_, c := emutest.Start(t, kmsemu.Options{})
	ctx := t.Context()
	id := createKey(t, c, types.KeySpecEccNistEdwards25519)
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/signing"), TargetKeyId: &id}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"alias/signing", "arn:aws:kms:us-east-1:111122223333:alias/signing", id} {
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		if err != nil || *d.KeyMetadata.Arn != id {
			t.Fatalf("DescribeKey(%s) = %v", ref, err)
		}
	}
	l, err := c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: &id})
	if err != nil || len(l.Aliases) != 1 || *l.Aliases[0].AliasName != "alias/signing" {
		t.Fatalf("ListAliases = %+v, %v", l, err)
	}
}

// TestWireErrors checks that the SDK's deserializers turn each error the
// emulator sends into the error KMS itself would produce: a typed error
// where the KMS model declares one, a smithy.APIError with the code
// otherwise, and the HTTP status.
func TestWireErrors(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	ctx := t.Context()
	sym := createKey(t, c, types.KeySpecSymmetricDefault)
	other := createKey(t, c, types.KeySpecSymmetricDefault)
	ed := createKey(t, c, types.KeySpecEccNistEdwards25519)
	disabled := createKey(t, c, types.KeySpecEccNistEdwards25519)
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: &disabled}); err != nil {
		t.Fatal(err)
	}
	doomed := createKey(t, c, types.KeySpecEccNistEdwards25519)
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &doomed, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	denied := createKey(t, c, types.KeySpecEccNistEdwards25519)
	if err := srv.DenyKey(denied, true); err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: &sym, Plaintext: []byte("x"), EncryptionContext: map[string]string{"env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(id string, msg []byte) error {
		_, err := c.Sign(ctx, &kms.SignInput{KeyId: &id, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512, MessageType: types.MessageTypeRaw}, noRetry)
		return err
	}
	wrongCreds := func(ak, sk string) error {
		_, err := emutest.NewClient(*c.Options().BaseEndpoint, ak, sk).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &ed}, noRetry)
		return err
	}

	tests := []struct {
		name   string
		call   func() error
		typed  any // pointer to a typed error, or nil
		code   string
		status int
	}{
		{"unknown key", func() error { return sign("1234abcd-12ab-34cd-56ef-1234567890ab", []byte("m")) }, new(*types.NotFoundException), "NotFoundException", 400},
		{"unknown alias", func() error { return sign("alias/nope", []byte("m")) }, new(*types.NotFoundException), "NotFoundException", 400},
		{"disabled key", func() error { return sign(disabled, []byte("m")) }, new(*types.DisabledException), "DisabledException", 400},
		{"pending deletion", func() error { return sign(doomed, []byte("m")) }, new(*types.KMSInvalidStateException), "KMSInvalidStateException", 400},
		{"denied key", func() error { return sign(denied, []byte("m")) }, nil, "AccessDeniedException", 400},
		{"symmetric key signs", func() error { return sign(sym, []byte("m")) }, new(*types.InvalidKeyUsageException), "InvalidKeyUsageException", 400},
		{"4097-byte message", func() error { return sign(ed, make([]byte, 4097)) }, nil, "ValidationException", 400},
		{"empty message", func() error { return sign(ed, []byte{}) }, nil, "ValidationException", 400},
		{"pure alg with DIGEST", func() error {
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: &ed, Message: make([]byte, 64), SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512, MessageType: types.MessageTypeDigest}, noRetry)
			return err
		}, nil, "ValidationException", 400},
		{"other encryption context", func() error {
			_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"env": "dev"}}, noRetry)
			return err
		}, new(*types.InvalidCiphertextException), "InvalidCiphertextException", 400},
		{"tampered blob", func() error {
			blob := bytes.Clone(enc.CiphertextBlob)
			blob[len(blob)-1] ^= 1
			_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"env": "prod"}}, noRetry)
			return err
		}, new(*types.InvalidCiphertextException), "InvalidCiphertextException", 400},
		{"decrypt with another key id", func() error {
			_, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: &other, EncryptionContext: map[string]string{"env": "prod"}}, noRetry)
			return err
		}, new(*types.IncorrectKeyException), "IncorrectKeyException", 400},
		{"alias exists", func() error {
			if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/dup"), TargetKeyId: &ed}); err != nil {
				return err
			}
			_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/dup"), TargetKeyId: &sym}, noRetry)
			return err
		}, new(*types.AlreadyExistsException), "AlreadyExistsException", 400},
		{"unknown access key", func() error { return wrongCreds("AKIAOTHER", emutest.SecretAccessKey) }, nil, "UnrecognizedClientException", 400},
		{"wrong secret key", func() error { return wrongCreds(emutest.AccessKeyID, "not-the-secret") }, nil, "InvalidSignatureException", 400},
		{"throttled", func() error { srv.Throttle(1); return sign(ed, []byte("m")) }, nil, "ThrottlingException", 400},
		{"internal error", func() error { srv.FailInternal(1); return sign(ed, []byte("m")) }, new(*types.KMSInternalException), "KMSInternalException", 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("call succeeded")
			}
			if tc.typed != nil && !errors.As(err, tc.typed) {
				t.Errorf("error %v is not a %T", err, tc.typed)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code {
				t.Errorf("error %v: want API error code %s", err, tc.code)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
				t.Errorf("error %v: want HTTP status %d", err, tc.status)
			}
			if bytes.Contains([]byte(err.Error()), []byte(emutest.SecretAccessKey)) {
				t.Errorf("error text contains the secret access key")
			}
		})
	}
}

func TestSDKRetriesInjectedFaults(t *testing.T) {
	srv, c := emutest.Start(t, kmsemu.Options{})
	id := createKey(t, c, types.KeySpecSymmetricDefault)
	srv.ResetCalls()
	srv.Throttle(1)
	srv.FailInternal(1)
	// The SDK's standard retryer (3 attempts) rides out one throttle and one
	// 500; a short backoff keeps the test fast.
	fast := func(o *kms.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.NewExponentialJitterBackoff(10 * time.Millisecond)
		})
	}
	if _, err := c.DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: &id}, fast); err != nil {
		t.Fatalf("DescribeKey: %v", err)
	}
	if n := srv.Calls("DescribeKey"); n != 3 {
		t.Fatalf("Calls(DescribeKey) = %d, want 3", n)
	}
}
