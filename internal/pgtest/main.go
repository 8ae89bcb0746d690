package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appsign/signer/internal/pgcluster"
)

// EnvURL names the environment variable holding the URL of a server to
// create test databases in, instead of starting one. It must allow CREATE
// DATABASE.
const EnvURL = "SIGNER_TEST_DATABASE_URL"

// startTimeout bounds starting the shared server (a first image pull included).
const startTimeout = 5 * time.Minute

// shared is the one server of a test binary.
var shared struct {
	mu      sync.Mutex
	inMain  bool
	tried   bool
	backend backend
	err     error
}

// Main runs the tests of a package with one shared server, started lazily by
// the first URL call, and stops it when they end. Use it as
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// It exits with a failure code when stopping the server fails, so a leaked
// server does not go unnoticed.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	b := shared.backend
	shared.mu.Unlock()
	if b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := b.close(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop %s: %v\n", b.describe(), err)
			code = max(code, 1)
		}
		cancel()
	}
	os.Exit(code)
}

// server returns the shared server, starting it on first use.
func server(t testing.TB) (backend, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		return nil, errors.New("pgtest: URL needs `func TestMain(m *testing.M) { pgtest.Main(m) }` in the package, so the shared server gets stopped")
	}
	if !shared.tried {
		shared.tried = true
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		begin := time.Now()
		shared.backend, shared.err = pick(ctx)
		if shared.err == nil {
			t.Logf("pgtest: using %s (ready in %v)", shared.backend.describe(), time.Since(begin).Round(time.Millisecond))
		}
	}
	return shared.backend, shared.err
}

// pick finds a server: $SIGNER_TEST_DATABASE_URL, else Docker, else a local
// cluster. The error wraps errNoServer when there is simply none to be had.
func pick(ctx context.Context) (backend, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return &serverBackend{adminURL: u, what: "server at $" + EnvURL}, nil
	}
	var tried []string
	if !dockerLikely() {
		tried = append(tried, "no Docker engine configured")
	} else if ok, err := dockerReachable(ctx); !ok {
		tried = append(tried, fmt.Sprintf("Docker engine not reachable (%v)", err))
	} else if b, err := startDocker(ctx); err != nil {
		tried = append(tried, err.Error())
	} else {
		return b, nil
	}
	b, err := startLocal(ctx)
	if err == nil {
		return b, nil
	}
	if errors.Is(err, pgcluster.ErrNoBinaries) || errors.Is(err, pgcluster.ErrNoServerUser) {
		tried = append(tried, err.Error())
		return nil, fmt.Errorf("%w (set %s, run Docker, or install PostgreSQL with `apt-get install postgresql`): %s",
			errNoServer, EnvURL, strings.Join(tried, "; "))
	}
	return nil, fmt.Errorf("pgtest: start local PostgreSQL: %w", err)
}
