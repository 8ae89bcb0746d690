package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeTransit serves the two Transit endpoints signerload uses, in the
// request and response shapes OpenBao's transit backend has
// (builtin/logical/transit path_keys.go and path_sign_verify.go): GET
// /v1/transit/keys/:name with data.type and data.keys["1"].public_key, and
// POST /v1/transit/sign/:name with input (base64) or batch_input, answered
// with data.signature or data.batch_results[].signature|error. It signs
// with a real Ed25519 key; bend corrupts what it returns.
type fakeTransit struct {
	t     *testing.T
	priv  ed25519.PrivateKey
	token string
	bend  string // "": honest; "flip": a wrong signature; "error": HTTP 500; "item": batch item 1 fails; "version": key version 7

	mu      sync.Mutex
	sizes   map[int]int // input size → items seen
	batches []int       // batch_input lengths seen
	singles int
}

func newFakeTransit(t *testing.T, bend string) *fakeTransit {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeTransit{t: t, priv: priv, token: "dev-token-for-test", bend: bend, sizes: map[int]int{}}
}

func (f *fakeTransit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Vault-Token") != f.token {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/transit/keys/k":
		pub := f.priv.Public().(ed25519.PublicKey)
		writeJSON(w, map[string]any{"data": map[string]any{
			"name": "k", "type": "ed25519", "latest_version": 1,
			"keys": map[string]any{"1": map[string]any{"name": "ed25519", "public_key": base64.StdEncoding.EncodeToString(pub)}},
		}})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/transit/sign/k":
		f.sign(w, r)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *fakeTransit) sign(w http.ResponseWriter, r *http.Request) {
	if f.bend == "error" {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"errors":["1 error occurred:\n\t* storage unavailable\n\n"]}`))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type %q, want application/json", ct)
	}
	var req struct {
		Input      *string `json:"input"`
		BatchInput []struct {
			Input string `json:"input"`
		} `json:"batch_input"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || (req.Input == nil) == (req.BatchInput == nil) {
		f.t.Errorf("sign request: want exactly one of input and batch_input (err %v)", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	one := func(i int, b64 string) map[string]any {
		in, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			f.t.Errorf("input is not base64: %v", err)
		}
		f.mu.Lock()
		f.sizes[len(in)]++
		f.mu.Unlock()
		sig := ed25519.Sign(f.priv, in)
		ver := "1"
		switch {
		case f.bend == "flip":
			sig[5] ^= 1
		case f.bend == "version":
			ver = "7"
		case f.bend == "item" && i == 1:
			return map[string]any{"error": "invalid request", "key_version": 0}
		}
		return map[string]any{"signature": "vault:v" + ver + ":" + base64.StdEncoding.EncodeToString(sig), "key_version": 1}
	}
	if req.Input != nil {
		f.mu.Lock()
		f.singles++
		f.mu.Unlock()
		writeJSON(w, map[string]any{"data": one(0, *req.Input)})
		return
	}
	results := make([]map[string]any, len(req.BatchInput))
	for i, it := range req.BatchInput {
		results[i] = one(i, it.Input)
	}
	f.mu.Lock()
	f.batches = append(f.batches, len(req.BatchInput))
	f.mu.Unlock()
	writeJSON(w, map[string]any{"data": map[string]any{"batch_results": results}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// runFake runs signerload against f and returns its JSON report.
func runFake(t *testing.T, f *fakeTransit, args ...string) Report {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv("SIGNERLOAD_TEST_BAO_TOKEN", f.token)
	all := append([]string{"--target", targetTransit, "--bao-addr", srv.URL, "--bao-key", "k",
		"--bao-token-env", "SIGNERLOAD_TEST_BAO_TOKEN", "--format", "json", "--duration", "0"}, args...)
	var out bytes.Buffer
	if err := run(context.Background(), all, &out); err != nil {
		t.Fatalf("signerload %q: %v", all, err)
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("report %q: %v", out.String(), err)
	}
	return r
}

// TestTransitRequestShape checks that each mode sends what the issue
// measured the peer with: 1 KB inputs, 32 B inputs, batch_input of 100
// items of 32 B; and that honest signatures are all counted.
func TestTransitRequestShape(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantSize  int
		wantBatch int // 0: single sign calls
		wantSigs  int64
	}{
		{"archive 1 KB", []string{"--mode", "archive", "--size", "1024"}, 1024, 0, 12},
		{"digest 32 B", []string{"--mode", "digest"}, 32, 0, 12},
		{"batch of 100", []string{"--mode", "batch", "--batch-size", "100"}, 32, 100, 1200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTransit(t, "")
			r := runFake(t, f, append(tc.args, "--requests", "12", "--concurrency", "3", "--verify-every", "1")...)
			if r.Requests != 12 || r.Signatures != tc.wantSigs || len(r.Errors) != 0 {
				t.Fatalf("report %+v, want 12 requests, %d signatures, no errors", r, tc.wantSigs)
			}
			if len(f.sizes) != 1 || f.sizes[tc.wantSize] != int(tc.wantSigs) {
				t.Errorf("input sizes seen %v, want %d of %d bytes", f.sizes, tc.wantSigs, tc.wantSize)
			}
			switch {
			case tc.wantBatch == 0 && (f.singles != 12 || len(f.batches) != 0):
				t.Errorf("%d single calls and batches %v, want 12 single calls", f.singles, f.batches)
			case tc.wantBatch > 0 && (f.singles != 0 || len(f.batches) != 12 || f.batches[0] != tc.wantBatch):
				t.Errorf("%d single calls and batches %v, want 12 batches of %d", f.singles, f.batches, tc.wantBatch)
			}
		})
	}
}

// TestTransitBadAnswersAreErrors plays the peer that answers without
// signing: a signature that does not verify, a key version it never
// listed, a failed batch item, an error response, a wrong token. Each is
// counted as an error, never as a signature.
func TestTransitBadAnswersAreErrors(t *testing.T) {
	cases := []struct {
		name     string
		bend     string
		args     []string
		wantCode string
		wantSigs int64
	}{
		{"signature does not verify", "flip", []string{"--mode", "digest"}, "DataLoss", 0},
		{"bad signature in a batch", "flip", []string{"--mode", "batch", "--batch-size", "5"}, "DataLoss", 0},
		{"unlisted key version", "version", []string{"--mode", "archive"}, "DataLoss", 0},
		{"a batch item fails alone", "item", []string{"--mode", "batch", "--batch-size", "5"}, "Unknown", 4 * 4},
		{"HTTP 500", "error", []string{"--mode", "digest"}, "Internal", 0},
		{"HTTP 500 on a batch", "error", []string{"--mode", "batch", "--batch-size", "5"}, "Internal", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runFake(t, newFakeTransit(t, tc.bend), append(tc.args, "--requests", "4", "--concurrency", "2", "--verify-every", "1")...)
			if r.Requests != 4 || r.Errors[tc.wantCode] != 4 || len(r.Errors) != 1 || r.Signatures != tc.wantSigs {
				t.Fatalf("report %+v, want 4 requests, 4 %s errors, %d signatures", r, tc.wantCode, tc.wantSigs)
			}
		})
	}

	t.Run("wrong token", func(t *testing.T) {
		f := newFakeTransit(t, "")
		srv := httptest.NewServer(f)
		defer srv.Close()
		t.Setenv("SIGNERLOAD_TEST_BAO_TOKEN", "not-the-token")
		err := run(context.Background(), []string{"--target", targetTransit, "--bao-addr", srv.URL, "--bao-key", "k",
			"--bao-token-env", "SIGNERLOAD_TEST_BAO_TOKEN", "--requests", "1"}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "HTTP 403") || strings.Contains(err.Error(), "not-the-token") {
			t.Fatalf("run with a wrong token: %v, want an HTTP 403 error that does not show the token", err)
		}
	})
}

// TestTransitParse checks the transit flags' guard rails.
func TestTransitParse(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"transit", []string{"--target", targetTransit, "--bao-addr", "http://127.0.0.1:8200"}, ""},
		{"unknown target", []string{"--target", "vault"}, "use signer or"},
		{"off loopback", []string{"--target", targetTransit, "--bao-addr", "http://10.0.0.1:8200"}, "only talks to loopback"},
		{"no port", []string{"--target", targetTransit, "--bao-addr", "http://127.0.0.1"}, "want http://host:port"},
		{"token in the URL", []string{"--target", targetTransit, "--bao-addr", "http://127.0.0.1:8200?token=x"}, "want http://host:port"},
		{"credentials in the URL", []string{"--target", targetTransit, "--bao-addr", "http://root:x@127.0.0.1:8200"}, "want http://host:port"},
		{"a path", []string{"--target", targetTransit, "--bao-addr", "http://127.0.0.1:8200/v1"}, "want http://host:port"},
		{"no verification", []string{"--target", targetTransit, "--verify-every", "0"}, "must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if _, err := parse(tc.args); err != nil {
				got = err.Error()
			}
			if (got == "") != (tc.wantErr == "") || !strings.Contains(got, tc.wantErr) {
				t.Fatalf("parse(%q): error %q, want one with %q", tc.args, got, tc.wantErr)
			}
		})
	}
}
