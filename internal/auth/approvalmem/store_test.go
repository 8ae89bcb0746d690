package approvalmem_test

import (
	"testing"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/auth/approvalmem"
	"github.com/appsign/signer/internal/auth/approvaltest"
)

func TestConformance(t *testing.T) {
	approvaltest.Run(t, func(t *testing.T, opts auth.ApprovalOptions) auth.Approvals {
		return approvalmem.New(opts)
	})
}
