package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"

	"github.com/appsign/signer/internal/transport"
)

// targetTransit is --target for the peer issue 13 compares us with:
// OpenBao (or Vault) Transit's sign endpoint with an ed25519 key.
const targetTransit = "openbao-transit"

// transitOptions are the flags of --target openbao-transit. The modes map
// onto Transit as: archive → one sign call with --size bytes of input;
// digest → one sign call with 32 bytes of input (what SignDigest carries);
// batch → one sign call with batch_input of --batch-size 32-byte items.
type transitOptions struct {
	target      string
	addr        string // http(s)://127.0.0.1:8200, loopback only
	tokenEnv    string // the environment variable holding the token: never a flag
	key         string // the transit key, of type ed25519
	mount       string // where the transit engine is mounted
	verifyEvery int    // verify all signatures of every n-th call of each caller
}

func (t *transitOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&t.target, "target", "signer", "what to load: signer (gRPC) or "+targetTransit+" (the peer: OpenBao Transit sign over HTTP)")
	fs.StringVar(&t.addr, "bao-addr", "http://127.0.0.1:8200", "OpenBao address (target "+targetTransit+"; loopback only)")
	fs.StringVar(&t.tokenEnv, "bao-token-env", "BAO_TOKEN", "environment variable that holds the OpenBao token (target "+targetTransit+")")
	fs.StringVar(&t.key, "bao-key", "signerload", "transit key of type ed25519 (target "+targetTransit+")")
	fs.StringVar(&t.mount, "bao-mount", "transit", "mount path of the transit engine (target "+targetTransit+")")
	fs.IntVar(&t.verifyEvery, "verify-every", 16, "verify the signatures of every n-th call of each caller with the key's public key, and of its first (target "+targetTransit+")")
}

func (t *transitOptions) check() error {
	switch t.target {
	case "signer":
		return nil
	case targetTransit:
	default:
		return fmt.Errorf("--target %q: use signer or %s", t.target, targetTransit)
	}
	u, err := url.Parse(t.addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" ||
		u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("--bao-addr %q: want http://host:port", t.addr)
	}
	if ok, err := transport.IsLoopback(u.Host); err != nil || !ok {
		return fmt.Errorf("--bao-addr %q: signerload only talks to loopback addresses", t.addr)
	}
	switch {
	case t.tokenEnv == "":
		return errors.New("--bao-token-env: name the environment variable that holds the token")
	case t.key == "" || t.mount == "":
		return errors.New("--bao-key and --bao-mount must not be empty")
	case t.verifyEvery < 1:
		return errors.New("--verify-every must be positive")
	}
	return nil
}

// token reads the token from the environment, so that it never shows in a
// process listing or a shell history.
func (t *transitOptions) token() (string, error) {
	tok := os.Getenv(t.tokenEnv)
	if tok == "" {
		return "", fmt.Errorf("--bao-token-env: $%s is empty: set it to the OpenBao token", t.tokenEnv)
	}
	return tok, nil
}
