// Package emutest starts a kmsemu server for a test and hands back a real
// aws-sdk-go-v2 KMS client pointed at it, signing with static test
// credentials that the server checks in full.
package emutest

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/appsign/signer/internal/kmsemu"
)

// Test credentials and region. They are not secrets: they only open the
// emulator of one test.
const (
	AccessKeyID     = "AKIAKMSEMUTEST000001"
	SecretAccessKey = "kmsemu-test-secret-access-key"
	Region          = "us-east-1"
)

// Start serves a new kmsemu.Server on 127.0.0.1 until the test ends. Unset
// credential and region fields of opts take the values above. The client
// keeps the SDK's default retryer, as a production client would.
func Start(t testing.TB, opts kmsemu.Options) (*kmsemu.Server, *kms.Client) {
	t.Helper()
	if opts.AccessKeyID == "" {
		opts.AccessKeyID = AccessKeyID
	}
	if opts.SecretAccessKey == "" {
		opts.SecretAccessKey = SecretAccessKey
	}
	if opts.Region == "" {
		opts.Region = Region
	}
	srv, err := kmsemu.New(opts)
	if err != nil {
		t.Fatalf("kmsemu: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, NewClient(hs.URL, AccessKeyID, SecretAccessKey)
}

// NewClient returns a KMS client for the endpoint url in Region with static
// credentials.
func NewClient(url, accessKeyID, secretAccessKey string) *kms.Client {
	return kms.New(kms.Options{
		Region:       Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
	})
}
