package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/appsign/signer/internal/kmsemu"
)

// secretEnv names the environment variable holding the secret access key.
const secretEnv = "KMSEMU_SECRET_ACCESS_KEY"

// run parses args, serves until ctx ends and then shuts down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("kmsemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `address` to listen on (port 0 picks a free port)")
	state := fs.String("state", "", "optional JSON `file` (mode 0600) keeping keys across restarts; holds key material in the clear")
	akid := fs.String("access-key-id", "", "the only access key id accepted (empty accepts any); the secret comes from $"+secretEnv)
	region := fs.String("region", "us-east-1", "region in key ARNs and the SigV4 credential scope")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := requireLoopback(*listen); err != nil {
		return err
	}
	srv, err := kmsemu.New(kmsemu.Options{
		Region:          *region,
		AccessKeyID:     *akid,
		SecretAccessKey: getenv(secretEnv),
		StatePath:       *state,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *akid == "" {
		fmt.Fprintln(stderr, "kmsemu: warning: no --access-key-id, any access key is accepted")
	}
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// requireLoopback refuses any listen address but a loopback IP or localhost:
// the emulator has no TLS and is not a key store to expose.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %q: refusing a non-loopback address", addr)
}
