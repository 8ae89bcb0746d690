package main

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/appsign/signer/internal/transport"
)

// serverFlag adds --server to cmd.
func serverFlag(cmd *cobra.Command, addr *string) {
	cmd.Flags().StringVar(addr, "server", "", "signer address host:port (default $SIGNER_SERVER)")
}

// dial connects to the signer. Plaintext is used only for loopback
// addresses (development); anything else uses TLS 1.2+.
func dial(addr string) (*grpc.ClientConn, error) {
	if addr == "" {
		addr = os.Getenv("SIGNER_SERVER")
	}
	if addr == "" {
		return nil, usagef("no server: pass --server host:port or set SIGNER_SERVER")
	}
	loopback, err := transport.IsLoopback(addr)
	if err != nil {
		return nil, usagef("--server: %v", err)
	}
	creds := insecure.NewCredentials()
	if !loopback {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("server %s: %w", addr, err))
	}
	return conn, nil
}

// rpcError gives a server error its exit status and a readable text.
func rpcError(what string, err error) error {
	st := status.Convert(err)
	code := exitError
	if st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded {
		code = exitUnavailable
	}
	return withCode(code, fmt.Errorf("%s: %s: %s", what, st.Code(), st.Message()))
}
