package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/appsign/signer/internal/server"
	"google.golang.org/grpc"
)

// Service is a built service: listening, not yet serving (Run serves).
type Service struct {
	srv    *server.Server
	lis    net.Listener
	mode   string
	log    *slog.Logger
	stdout io.Writer
	grace  time.Duration

	stopBackground context.CancelFunc
	closers        []func()
	shutdown       sync.Once
}

// Addr is the gRPC listener's address (the port chosen for ":0").
func (s *Service) Addr() net.Addr { return s.lis.Addr() }

// Mode says how callers connect: "mutual TLS" or "plaintext, loopback only".
func (s *Service) Mode() string { return s.mode }

// Run serves until ctx ends, then shuts down (Shutdown). It returns an
// error if serving stopped for another reason.
func (s *Service) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.srv.GRPC.Serve(s.lis) }()
	select {
	case err := <-served:
		s.Shutdown()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.Shutdown()
	// A signal that lands before the goroutine above reaches Serve stops
	// the server first; Serve then returns ErrServerStopped. That is the
	// shutdown asked for, not a failure to serve.
	if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// Shutdown drains the service within File.ShutdownGrace
// (server.Server.Shutdown): gRPC health and /readyz turn NOT_SERVING at
// once, new calls are refused with Unavailable, the calls in flight
// finish (each commits its ledger entry before it answers, so nothing is
// left to flush), then the gRPC server stops. Only then do the background
// work, the operations listener, the key backends and the database pool
// stop. Calling it again does nothing.
func (s *Service) Shutdown() {
	s.shutdown.Do(func() {
		fmt.Fprintln(s.stdout, "shutting down…")
		s.srv.Shutdown(s.grace)
		s.close()
		fmt.Fprintln(s.stdout, "stopped")
	})
}

// onClose adds f to what close runs, in reverse order.
func (s *Service) onClose(f func()) { s.closers = append(s.closers, f) }

// close stops the background work and closes what Build opened, last
// opened first.
func (s *Service) close() {
	s.stopBackground()
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
