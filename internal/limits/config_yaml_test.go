package limits_test

import (
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/appsign/signer/internal/limits"
)

// TestConfigYAML: Config can be a section of the service's YAML file.
func TestConfigYAML(t *testing.T) {
	const doc = `
rate: 5
burst: 10
max_concurrent_per_identity: 4
max_in_flight: 64
default_timeout: 20s
max_timeout: 1m
methods:
  /signer.v1.SignerService/SignArchive: {default: 10m, max: 20m}
max_message_size: 1048576
max_archive_size: 268435456
`
	var c limits.Config
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if c.DefaultTimeout != 20*time.Second || c.Methods["/signer.v1.SignerService/SignArchive"].Max != 20*time.Minute || c.Burst != 10 {
		t.Fatalf("decoded %+v", c)
	}
	if _, err := limits.New(c, callerOf); err != nil {
		t.Fatal(err)
	}
}
