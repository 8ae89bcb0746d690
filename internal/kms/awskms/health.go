package awskms

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	kmsapi "github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
)

// CheckHealth implements kms.HealthChecker: every key with an open signer
// must be reachable (DescribeKey) and enabled. With no key loaded there is
// nothing to check.
func (b *Backend) CheckHealth(ctx context.Context) error {
	b.mu.Lock()
	arns := make([]string, 0, len(b.loaded))
	for a := range b.loaded {
		arns = append(arns, a)
	}
	b.mu.Unlock()
	sort.Strings(arns)
	var errs []error
	for _, keyARN := range arns {
		if err := b.checkKey(ctx, keyARN); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *Backend) checkKey(ctx context.Context, keyARN string) error {
	a, _ := parseARN(keyARN)
	out, err := awscall.Do(ctx, b.retry, "DescribeKey", func(ctx context.Context) (*kms.DescribeKeyOutput, error) {
		return b.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyARN)}, callOpts(a.region)...)
	})
	if err != nil {
		return fmt.Errorf("awskms: health of %s: %w", keyARN, err)
	}
	if m := out.KeyMetadata; m == nil || !m.Enabled || m.KeyState != types.KeyStateEnabled {
		state := types.KeyState("unknown")
		if m != nil {
			state = m.KeyState
		}
		return fmt.Errorf("awskms: health of %s: %w: the KMS key is %s, not Enabled", keyARN, kmsapi.ErrKeyDisabled, state)
	}
	return nil
}
