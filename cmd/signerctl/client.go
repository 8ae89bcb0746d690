package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/transport"
)

// serverFlag adds --server to cmd.
func serverFlag(cmd *cobra.Command, addr *string) {
	cmd.Flags().StringVar(addr, "server", "", "signer address host:port (default $SIGNER_SERVER)")
}

// tlsFlags are the client's mutual-TLS settings, shared by every command
// that talks to a server. Each defaults to an environment variable so that
// scripts need not repeat them; none of them is a secret (the key is a file).
var tlsFlags struct {
	ca, cert, key, serverName string
}

func addTLSFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&tlsFlags.ca, "tls-ca", os.Getenv("SIGNER_TLS_CA"), "CA certificate file that issued the server's certificate ($SIGNER_TLS_CA)")
	f.StringVar(&tlsFlags.cert, "tls-cert", os.Getenv("SIGNER_TLS_CERT"), "client certificate file for mutual TLS ($SIGNER_TLS_CERT)")
	f.StringVar(&tlsFlags.key, "tls-key", os.Getenv("SIGNER_TLS_KEY"), "client key file, mode 0600 ($SIGNER_TLS_KEY)")
	f.StringVar(&tlsFlags.serverName, "server-name", os.Getenv("SIGNER_SERVER_NAME"), "name to check in the server's certificate (default: the --server host)")
}

// dial connects to the signer. With --tls-ca (or a non-loopback address)
// the connection uses TLS 1.2+ with the client certificate; plaintext is
// used only for loopback addresses without TLS settings (development).
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
	switch {
	case tlsFlags.ca != "" || tlsFlags.cert != "":
		cfg, err := transport.ClientTLS(tlsFlags.ca, tlsFlags.cert, tlsFlags.key, tlsFlags.serverName)
		if err != nil {
			return nil, usagef("TLS settings: %v", err)
		}
		creds = credentials.NewTLS(cfg)
	case !loopback:
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, ServerName: tlsFlags.serverName})
	}
	// Revocation lists with exact entries can be tens of megabytes.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limits.MaxResponseSize)))
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
	hint := ""
	if d, ok := limits.RetryDelay(err); ok {
		hint = fmt.Sprintf(" (retry after %s)", d.Round(time.Millisecond))
	}
	if st.Code() == codes.Unavailable && tlsFlags.cert == "" && needsMutualTLS(st.Message(), tlsFlags.ca != "") {
		hint = "\n" + mutualTLSHint
	}
	return withCode(code, fmt.Errorf("%s: %s: %s%s", what, st.Code(), st.Message(), hint))
}

// mutualTLSHint is printed when a connection failed the way it does against
// a server that requires client certificates (`signer serve`).
const mutualTLSHint = "this server requires mutual TLS: pass --tls-ca/--tls-cert/--tls-key (or set SIGNER_TLS_CA, SIGNER_TLS_CERT, SIGNER_TLS_KEY)"

// needsMutualTLS recognises, in a connection error of a client without a
// certificate, a TLS server answering a plaintext client (it closes before
// the HTTP/2 preface) or refusing a TLS client that sent no certificate.
// gRPC gives only the text. Under TLS 1.3 the client finishes its side of
// the handshake before the server checks for a certificate, so the refusal
// often arrives as the server closing the connection under the client's
// first write (a broken pipe or reset) rather than as the TLS alert: with
// TLS configured and no certificate, those count too.
func needsMutualTLS(msg string, usedTLS bool) bool {
	signs := []string{"server preface", "tls: certificate required", "tls: bad certificate", "tls: handshake failure"}
	if usedTLS {
		signs = append(signs, "broken pipe", "connection reset by peer", "EOF")
	}
	for _, s := range signs {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
