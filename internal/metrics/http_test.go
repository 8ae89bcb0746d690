package metrics_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/metrics"
	"github.com/appsign/signer/internal/transport/transporttest"
)

const scraperID = "spiffe://appsign/ops/prometheus"

// serveOps runs Serve on a loopback listener until the test ends and
// returns its address.
func serveOps(t *testing.T, m *metrics.Metrics, opts metrics.ServeOptions) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, lis, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return lis.Addr().String()
}

func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// TestServeTLSAttacker plays whoever can reach the ops port: a plaintext
// scraper, a TLS client with no certificate, one with a certificate from
// another CA, one from the right CA that is not a scraper. Only the scraper
// reads metrics; probes answer everyone over TLS.
func TestServeTLSAttacker(t *testing.T) {
	ca := transporttest.NewCA(t, "clients")
	foreign := transporttest.NewCA(t, "someone else")
	m := metrics.New()
	m.InitBackends("pkcs11")
	ready := errors.New("database down")
	addr := serveOps(t, m, metrics.ServeOptions{
		TLS: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{ca.Server(t)},
			ClientCAs:    ca.Pool(),
			ClientAuth:   tls.VerifyClientCertIfGiven,
		},
		AuthorizeScrape: func(leaf *x509.Certificate) error {
			if len(leaf.URIs) == 1 && leaf.URIs[0].String() == scraperID {
				return nil
			}
			return errors.New("not a scraper")
		},
		Ready: func(context.Context) error { return ready },
	})
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12, RootCAs: ca.Pool(), Certificates: certs,
		}}}
	}
	https := "https://" + addr

	// Plaintext gets no metrics: Go's TLS server answers a bare 400.
	if code, body, err := get(t, http.DefaultClient, "http://"+addr+"/metrics"); err == nil && (code == http.StatusOK || strings.Contains(body, "signer_")) {
		t.Fatalf("plaintext scrape of the TLS listener: %d %q", code, body)
	}
	cases := []struct {
		name     string
		client   *http.Client
		path     string
		wantCode int
		wantBody string
	}{
		{"probe without a certificate: liveness", client(), "/livez", 200, "ok"},
		{"probe without a certificate: readiness reflects the check", client(), "/readyz", 503, "not ready"},
		{"no certificate, metrics", client(), "/metrics", 401, "client certificate is required"},
		{"right CA, not a scraper", client(ca.Client(t, "spiffe://appsign/pipeline/review-1")), "/metrics", 403, "may not read metrics"},
		{"scraper", client(ca.Client(t, scraperID)), "/metrics", 200, `signer_kms_verify_after_sign_failures_total{backend="pkcs11"} 0`},
		{"other paths", client(ca.Client(t, scraperID)), "/", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, err := get(t, tc.client, https+tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("GET %s: %d %q, want %d with %q", tc.path, code, body, tc.wantCode, tc.wantBody)
			}
			if tc.wantCode != 200 && strings.Contains(body, "signer_") {
				t.Fatalf("GET %s leaked metrics: %q", tc.path, body)
			}
		})
	}
	t.Run("certificate from another CA is refused in the handshake", func(t *testing.T) {
		// GetClientCertificate sends it although the server asked for other CAs.
		cert := foreign.Client(t, scraperID)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12, RootCAs: ca.Pool(),
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		}}}
		if code, body, err := get(t, c, https+"/metrics"); err == nil {
			t.Fatalf("foreign client certificate accepted: %d %q", code, body)
		}
	})
	t.Run("readiness follows the check", func(t *testing.T) {
		ready = nil
		if code, body, err := get(t, client(), https+"/readyz"); err != nil || code != 200 || strings.TrimSpace(body) != "ok" {
			t.Fatalf("/readyz after recovery: %d %q %v", code, body, err)
		}
	})
}

// TestServeTLSNeedsAnAuthorizer: a TLS listener with nobody allowed to
// scrape is a configuration error, not an open /metrics.
func TestServeTLSNeedsAnAuthorizer(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	err = metrics.New().Serve(t.Context(), lis, metrics.ServeOptions{TLS: &tls.Config{MinVersion: tls.VersionTLS12}})
	if !errors.Is(err, metrics.ErrNoScrapeAuthorizer) {
		t.Fatalf("Serve = %v, want ErrNoScrapeAuthorizer", err)
	}
}

// TestInitBackendsExportsZeroes: the key-backend series the alert rules
// name exist before their first increment, for every error class.
func TestInitBackendsExportsZeroes(t *testing.T) {
	m := metrics.New()
	m.InitBackends("softkms", "awskms")
	body := scrape(t, m)
	for _, want := range []string{
		`signer_kms_verify_after_sign_failures_total{backend="awskms"} 0`,
		`signer_kms_backend_retries_total{backend="softkms"} 0`,
		`signer_kms_backend_errors_total{backend="awskms",class="unavailable"} 0`,
		`signer_kms_backend_errors_total{backend="softkms",class="invalid_signature"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
