package pgtest_test

import (
	"testing"

	"github.com/appsign/signer/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
