package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// transitClient speaks the part of the Transit API the load needs: read an
// ed25519 key's public keys, and sign (one input or a batch_input).
type transitClient struct {
	http  *http.Client
	base  string // http://127.0.0.1:8200/v1/<mount>
	key   string
	token string
}

// newTransitClient makes a client whose one transport keeps an idle
// keep-alive connection per caller, so that the load measures signing and
// not TCP handshakes.
func newTransitClient(o options, token string) *transitClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = o.concurrency + 8
	tr.MaxIdleConnsPerHost = o.concurrency + 8
	tr.DisableCompression = true
	return &transitClient{
		http:  &http.Client{Transport: tr},
		base:  strings.TrimSuffix(o.transit.addr, "/") + "/v1/" + o.transit.mount,
		key:   o.transit.key,
		token: token,
	}
}

func (c *transitClient) close() { c.http.CloseIdleConnections() }

// transitItem is one item of a batch_input, or the body of a single sign.
type transitItem struct {
	Input string `json:"input"`
}

type transitBatch struct {
	BatchInput []transitItem `json:"batch_input"`
}

// transitSigned is one result: the signature of a single sign, or one entry
// of batch_results (whose error is per item).
type transitSigned struct {
	Signature string `json:"signature"`
	Error     string `json:"error"`
}

type transitSignResponse struct {
	Data struct {
		transitSigned
		BatchResults []transitSigned `json:"batch_results"`
	} `json:"data"`
}

// sign signs inputs: one input as a single sign call, several as one
// batch_input. It returns one result per input, in order; err is for the
// call as a whole (transport, HTTP status, malformed response).
func (c *transitClient) sign(ctx context.Context, inputs [][]byte) ([]transitSigned, error) {
	var body any
	if len(inputs) == 1 {
		body = transitItem{Input: base64.StdEncoding.EncodeToString(inputs[0])}
	} else {
		b := transitBatch{BatchInput: make([]transitItem, len(inputs))}
		for i, in := range inputs {
			b.BatchInput[i].Input = base64.StdEncoding.EncodeToString(in)
		}
		body = b
	}
	var resp transitSignResponse
	if err := c.do(ctx, http.MethodPost, "/sign/"+c.key, body, &resp); err != nil {
		return nil, err
	}
	if len(inputs) == 1 {
		return []transitSigned{resp.Data.transitSigned}, nil
	}
	if len(resp.Data.BatchResults) != len(inputs) {
		return nil, status.Errorf(codes.DataLoss, "transit: %d batch_results for %d inputs", len(resp.Data.BatchResults), len(inputs))
	}
	return resp.Data.BatchResults, nil
}

// publicKeys reads the key's public keys by version ("1", "2", ...), and
// refuses a key that is not ed25519: its signatures would not be the ones
// the issue compares.
func (c *transitClient) publicKeys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	var resp struct {
		Data struct {
			Type string `json:"type"`
			Keys map[string]struct {
				PublicKey string `json:"public_key"`
			} `json:"keys"`
		} `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, "/keys/"+c.key, nil, &resp); err != nil {
		return nil, err
	}
	if resp.Data.Type != "ed25519" {
		return nil, fmt.Errorf("transit: key %q is of type %q, want ed25519", c.key, resp.Data.Type)
	}
	keys := map[string]ed25519.PublicKey{}
	for v, k := range resp.Data.Keys {
		pub, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("transit: key %q version %s: public key is not a base64 Ed25519 key", c.key, v)
		}
		keys[v] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("transit: key %q has no public keys", c.key)
	}
	return keys, nil
}

// do sends one request and decodes a 2xx response into out. The body is
// read to its end so that the connection goes back to the pool. An error
// response becomes a status error with the code grpc-gateway maps its
// HTTP status from, so that the report counts it as the signer modes do.
func (c *transitClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return status.Error(codes.Unavailable, fmt.Sprintf("transit: %s %s: %v", method, path, err))
	}
	defer resp.Body.Close()
	defer io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained for keep-alive only
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		return status.Error(httpCode(resp.StatusCode), fmt.Sprintf("transit: %s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.Join(e.Errors, "; ")))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return status.Error(codes.DataLoss, fmt.Sprintf("transit: %s %s: decode response: %v", method, path, err))
	}
	return nil
}

// httpCodes are the gRPC codes for HTTP statuses, as grpc-gateway and
// Google's APIs map them.
var httpCodes = map[int]codes.Code{
	http.StatusBadRequest: codes.InvalidArgument, http.StatusUnauthorized: codes.Unauthenticated,
	http.StatusForbidden: codes.PermissionDenied, http.StatusNotFound: codes.NotFound,
	http.StatusConflict: codes.Aborted, http.StatusTooManyRequests: codes.ResourceExhausted,
	http.StatusNotImplemented: codes.Unimplemented, http.StatusServiceUnavailable: codes.Unavailable,
	http.StatusGatewayTimeout: codes.DeadlineExceeded,
}

func httpCode(s int) codes.Code {
	if c, ok := httpCodes[s]; ok {
		return c
	}
	if s >= 500 {
		return codes.Internal
	}
	return codes.Unknown
}

// parseTransitSignature splits "vault:v<version>:<base64>" into the key
// version and the raw signature.
func parseTransitSignature(s string) (version string, sig []byte, err error) {
	rest, ok := strings.CutPrefix(s, "vault:v")
	ver, b64, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return "", nil, fmt.Errorf("transit: signature %.24q: want vault:v<n>:<base64>", s)
	}
	if _, err := strconv.ParseUint(ver, 10, 32); err != nil {
		return "", nil, fmt.Errorf("transit: signature %.24q: bad key version", s)
	}
	sig, err = base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "", nil, fmt.Errorf("transit: signature %.24q: not a base64 Ed25519 signature", s)
	}
	return ver, sig, nil
}
