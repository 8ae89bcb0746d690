package kms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/kms"
)

func TestCloseFlag(t *testing.T) {
	var f kms.CloseFlag
	if err := f.Check("awskms"); err != nil {
		t.Fatalf("Check on a new flag = %v, want nil", err)
	}
	for range 2 { // closing twice is not an error
		if err := f.Close(); err != nil {
			t.Fatalf("Close = %v, want nil", err)
		}
	}
	err := f.Check("awskms")
	if !errors.Is(err, kms.ErrClosed) || !strings.HasPrefix(err.Error(), "awskms: backend: ") {
		t.Fatalf("Check after Close = %v, want \"awskms: backend: \" wrapping ErrClosed", err)
	}
}
