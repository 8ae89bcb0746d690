package main

import (
	"context"
	"crypto/tls"
	"errors"
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

// connAnnotation marks, in cobra.Command.Annotations, a command that
// carries the connection flags (addConnFlags).
const connAnnotation = "signerctl/connects"

// connFlagNames are the flags addConnFlags registers.
var connFlagNames = []string{"server", "tls-ca", "tls-cert", "tls-key", "server-name"}

// client is the connection to the signer that one command uses: its flags
// (--server and the mutual-TLS files), the dial and the mapping of call
// errors to exit statuses. Commands that never connect have none of it.
type client struct {
	server, ca, cert, key, serverName string
}

// addConnFlags registers the connection flags of c on a command that talks
// to a server. Each defaults to an environment variable so that scripts need
// not repeat them; none of them is a secret (the key is a file).
func addConnFlags(cmd *cobra.Command, c *client) {
	f := cmd.Flags()
	f.StringVar(&c.server, "server", "", "signer address host:port (default $SIGNER_SERVER)")
	f.StringVar(&c.ca, "tls-ca", os.Getenv("SIGNER_TLS_CA"), "CA certificate file that issued the server's certificate ($SIGNER_TLS_CA)")
	f.StringVar(&c.cert, "tls-cert", os.Getenv("SIGNER_TLS_CERT"), "client certificate file for mutual TLS ($SIGNER_TLS_CERT)")
	f.StringVar(&c.key, "tls-key", os.Getenv("SIGNER_TLS_KEY"), "client key file, mode 0600 ($SIGNER_TLS_KEY)")
	f.StringVar(&c.serverName, "server-name", os.Getenv("SIGNER_SERVER_NAME"), "name to check in the server's certificate (default: the --server host)")
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[connAnnotation] = "true"
}

// address is --server, else $SIGNER_SERVER, else "".
func (c *client) address() string {
	if c.server != "" {
		return c.server
	}
	return os.Getenv("SIGNER_SERVER")
}

// dial connects to the signer. With --tls-ca (or a non-loopback address)
// the connection uses TLS 1.2+ with the client certificate; plaintext is
// used only for loopback addresses without TLS settings (development).
func (c *client) dial() (*grpc.ClientConn, error) {
	addr := c.address()
	if addr == "" {
		return nil, usagef("no server: pass --server host:port or set SIGNER_SERVER")
	}
	loopback, err := transport.IsLoopback(addr)
	if err != nil {
		return nil, usagef("--server: %v", err)
	}
	creds := insecure.NewCredentials()
	switch {
	case c.ca != "" || c.cert != "":
		cfg, err := transport.ClientTLS(c.ca, c.cert, c.key, c.serverName)
		if err != nil {
			return nil, usagef("TLS settings: %v", err)
		}
		creds = credentials.NewTLS(cfg)
	case !loopback:
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.serverName})
	}
	// Revocation lists with exact entries can be tens of megabytes.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limits.MaxResponseSize)))
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("server %s: %w", addr, err))
	}
	return conn, nil
}

// with dials, runs fn on the connection, and closes the connection. A gRPC error fn returns unconverted becomes an
// rpcError named what; every call error says which flags are missing when
// the server turned the client away for want of a client certificate.
// No timeout is added: the server bounds each call (its maximum deadline)
// and streams that outlive it resume (ledger verify), so the command's
// context (Ctrl-C) is the client's only limit.
func (c *client) with(ctx context.Context, what string, fn func(ctx context.Context, conn *grpc.ClientConn) error) error {
	conn, err := c.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	err = fn(ctx, conn)
	var ce *codedError
	if err != nil && !errors.As(err, &ce) {
		if _, ok := status.FromError(err); ok {
			err = rpcError(what, err)
		}
	}
	var rf *rpcFailure
	if errors.As(err, &rf) && rf.code == codes.Unavailable && c.cert == "" && needsMutualTLS(rf.msg, c.ca != "") {
		rf.hint = "\n" + mutualTLSHint
	}
	return err
}

// unary makes one call through c.with and returns its response.
func unary[Resp any](ctx context.Context, c *client, what string, call func(ctx context.Context, conn *grpc.ClientConn) (Resp, error)) (Resp, error) {
	var resp Resp
	err := c.with(ctx, what, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = call(ctx, conn)
		return err
	})
	return resp, err
}

// rpcFailure is a call the server (or the transport) refused.
type rpcFailure struct {
	what string
	code codes.Code
	msg  string
	hint string
}

func (e *rpcFailure) Error() string {
	return fmt.Sprintf("%s: %s: %s%s", e.what, e.code, e.msg, e.hint)
}

// rpcError gives a server error its exit status and a readable text.
func rpcError(what string, err error) error {
	st := status.Convert(err)
	code := exitError
	if st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded {
		code = exitUnavailable
	}
	f := &rpcFailure{what: what, code: st.Code(), msg: st.Message()}
	if d, ok := limits.RetryDelay(err); ok {
		f.hint = fmt.Sprintf(" (retry after %s)", d.Round(time.Millisecond))
	}
	return withCode(code, f)
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
