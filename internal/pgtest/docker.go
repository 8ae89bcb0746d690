package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// dockerImage is the server version production runs.
const dockerImage = "postgres:15"

// dockerLikely is a cheap check, before asking testcontainers (which is slow
// to give up): is a Docker engine configured or its socket present?
func dockerLikely() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	candidates := []string{"/var/run/docker.sock"}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		candidates = append(candidates, filepath.Join(dir, "docker.sock"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".docker", "run", "docker.sock"))
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return true
		}
	}
	return false
}

// dockerReachable asks the engine for its info. testcontainers panics on
// some misconfigurations: that counts as unreachable.
func dockerReachable(ctx context.Context) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("pgtest: testcontainers panicked: %v", r)
		}
	}()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Health(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// startDocker runs a postgres container tuned like the local cluster.
func startDocker(ctx context.Context) (*serverBackend, error) {
	password, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	ctr, err := tcpostgres.Run(ctx, dockerImage,
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword(password),
		testcontainers.WithCmd("postgres",
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=200"),
		tcpostgres.BasicWaitStrategies(),
	)
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr)
		return nil, fmt.Errorf("pgtest: start %s container: %w", dockerImage, err)
	}
	adminURL, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr)
		return nil, fmt.Errorf("pgtest: %s container address: %w", dockerImage, err)
	}
	return &serverBackend{
		adminURL: adminURL,
		what:     dockerImage + " container " + ctr.GetContainerID(),
		terminate: func(ctx context.Context) error {
			return testcontainers.TerminateContainer(ctr, testcontainers.StopContext(ctx))
		},
	}, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("pgtest: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}
