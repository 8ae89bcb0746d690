package awskms

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
)

// nameRE is what KMS allows after "alias/".
var nameRE = regexp.MustCompile(`^[A-Za-z0-9/_-]{1,250}$`)

// CreateKey creates an Ed25519 KMS key (ECC_NIST_EDWARDS25519, SIGN_VERIFY)
// tagged with its name and purpose, and the alias "alias/<Name>" for it. The
// only attribute it takes is "region". It returns the key's URI by ARN. If
// the alias cannot be created the new key is scheduled for deletion again.
func (b *Backend) CreateKey(ctx context.Context, req kmsapi.CreateKeyRequest) (kmsapi.URI, error) {
	if err := b.checkOpen(); err != nil {
		return kmsapi.URI{}, err
	}
	if !nameRE.MatchString(req.Name) || strings.HasPrefix(req.Name, "aws/") {
		return kmsapi.URI{}, fmt.Errorf("awskms: create key: name %q: use letters, digits, '/', '_' or '-' (at most 250), not starting with aws/", req.Name)
	}
	for k := range req.Attrs {
		if k != "region" {
			return kmsapi.URI{}, fmt.Errorf("awskms: create key: %w: unknown attribute %q", kmsapi.ErrInvalidURI, k)
		}
	}
	region := req.Attrs["region"]
	aliasName := "alias/" + req.Name
	purpose := req.Purpose
	if purpose == "" {
		purpose = "signing"
	}
	out, err := awscall.Do(ctx, b.retry, "CreateKey", func(ctx context.Context) (*kms.CreateKeyOutput, error) {
		return b.client.CreateKey(ctx, &kms.CreateKeyInput{
			KeySpec:     types.KeySpecEccNistEdwards25519,
			KeyUsage:    types.KeyUsageTypeSignVerify,
			Description: aws.String(fmt.Sprintf("appsign signer key %s (%s)", req.Name, purpose)),
			Tags: []types.Tag{
				{TagKey: aws.String("purpose"), TagValue: aws.String(purpose)},
				{TagKey: aws.String("name"), TagValue: aws.String(req.Name)},
				{TagKey: aws.String("created-by"), TagValue: aws.String("appsign-signer")},
			},
		}, callOpts(region)...)
	})
	if err != nil {
		return kmsapi.URI{}, fmt.Errorf("awskms: create key %s: %w", req.Name, err)
	}
	keyARN := aws.ToString(out.KeyMetadata.Arn)
	_, err = awscall.Do(ctx, b.retry, "CreateAlias", func(ctx context.Context) (*kms.CreateAliasOutput, error) {
		return b.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(aliasName), TargetKeyId: aws.String(keyARN)}, callOpts(region)...)
	})
	if err != nil {
		var exists *types.AlreadyExistsException
		if errors.As(err, &exists) {
			err = fmt.Errorf("%s already exists: %w", aliasName, err)
		}
		if derr := b.scheduleDeletion(context.WithoutCancel(ctx), keyARN, region); derr != nil {
			b.opts.Log.ErrorContext(ctx, "awskms: could not schedule deletion of an orphaned key; schedule it by hand",
				"key_arn", keyARN, "error", derr.Error())
		}
		return kmsapi.URI{}, fmt.Errorf("awskms: create key %s: alias: %w", req.Name, err)
	}
	return kmsapi.NewURI(Scheme, map[string]string{"key-id": keyARN}), nil
}

// DestroyKey schedules the key for deletion after DeletionWindowDays (KMS
// never deletes at once) and deletes its aliases so their names can be
// reused. A key already pending deletion is not an error.
func (b *Backend) DestroyKey(ctx context.Context, uri kmsapi.URI) error {
	ref, err := parseURI(uri)
	if err != nil {
		return err
	}
	if err := b.checkOpen(); err != nil {
		return err
	}
	desc, err := awscall.Do(ctx, b.retry, "DescribeKey", func(ctx context.Context) (*kms.DescribeKeyOutput, error) {
		return b.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref.keyID)}, callOpts(ref.region)...)
	})
	if err != nil {
		return fmt.Errorf("awskms: destroy %s: %w", uri, err)
	}
	keyARN := aws.ToString(desc.KeyMetadata.Arn)
	if desc.KeyMetadata.KeyState == types.KeyStatePendingDeletion {
		return nil
	}
	if err := b.scheduleDeletion(ctx, keyARN, ref.region); err != nil {
		return fmt.Errorf("awskms: destroy %s: %w", uri, err)
	}
	aliases, err := awscall.Do(ctx, b.retry, "ListAliases", func(ctx context.Context) (*kms.ListAliasesOutput, error) {
		return b.client.ListAliases(ctx, &kms.ListAliasesInput{KeyId: aws.String(keyARN)}, callOpts(ref.region)...)
	})
	if err != nil {
		return fmt.Errorf("awskms: destroy %s: key scheduled for deletion, listing its aliases: %w", uri, err)
	}
	for _, a := range aliases.Aliases {
		_, err := awscall.Do(ctx, b.retry, "DeleteAlias", func(ctx context.Context) (*kms.DeleteAliasOutput, error) {
			return b.client.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: a.AliasName}, callOpts(ref.region)...)
		})
		if err != nil {
			return fmt.Errorf("awskms: destroy %s: key scheduled for deletion, deleting %s: %w", uri, aws.ToString(a.AliasName), err)
		}
	}
	return nil
}

func (b *Backend) scheduleDeletion(ctx context.Context, keyARN, region string) error {
	_, err := awscall.Do(ctx, b.retry, "ScheduleKeyDeletion", func(ctx context.Context) (*kms.ScheduleKeyDeletionOutput, error) {
		return b.client.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
			KeyId:               aws.String(keyARN),
			PendingWindowInDays: aws.Int32(b.opts.DeletionWindowDays),
		}, callOpts(region)...)
	})
	return err
}
