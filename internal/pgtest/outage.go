package pgtest

import (
	"errors"
	"testing"

	"github.com/appsign/signer/internal/pgcluster"
)

// Call is one store method an outage test makes; Do returns its error.
type Call struct {
	Name string
	Do   func() error
}

// Outage stops c (from Cluster) and runs each call as a subtest of t,
// failing those whose error is not want (errors.Is): a store's
// "unavailable, retry" sentinel, so that an outage never reads as a bad
// request or an internal error.
func Outage(t *testing.T, c *pgcluster.Cluster, want error, calls ...Call) {
	t.Helper()
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, call := range calls {
		t.Run(call.Name, func(t *testing.T) {
			if err := call.Do(); !errors.Is(err, want) {
				t.Errorf("%s with the database stopped: err = %v, want %v", call.Name, err, want)
			}
		})
	}
}
