package awskms

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// ClientConfig says how NewClient builds a KMS client.
type ClientConfig struct {
	// Region is the default region; "" takes it from the AWS configuration.
	Region string
	// Profile is a shared-config profile; "" means the default chain.
	Profile string
	// BaseEndpoint overrides the KMS endpoint (a VPC endpoint, or kmsemu in
	// development); "" means the regional AWS endpoint.
	BaseEndpoint string
}

// NewClient builds a KMS client from the standard AWS configuration chain
// (environment, shared files, SSO, instance or task role). Credentials never
// come through ClientConfig.
func NewClient(ctx context.Context, c ClientConfig) (*kms.Client, error) {
	var loaders []func(*config.LoadOptions) error
	if c.Region != "" {
		loaders = append(loaders, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		loaders = append(loaders, config.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("awskms: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("awskms: no AWS region configured")
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		if c.BaseEndpoint != "" {
			o.BaseEndpoint = &c.BaseEndpoint
		}
	}), nil
}
