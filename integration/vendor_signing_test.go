package integration

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/chain"
)

// TestVendorCannotBorrowMarketplaceTrust plays a vendor (or whoever stole
// its CI certificate) against `signer serve` and PostgreSQL. The service's
// signatures are marketplace-origin, so it makes them for the review
// pipeline only; a vendor's permitted request is a private-build
// certificate for its own key, whose signatures chain to the private-build
// CA, never the marketplace CA, and verify only for the vendor's own app
// keys. Issue 11, finding 1.
func TestVendorCannotBorrowMarketplaceTrust(t *testing.T) {
	e := startServe(t)
	dir := t.TempDir()
	archive := writeArchive(t, dir, "app.jar", 96<<10, 31)
	// The customer's trust store: root, marketplace CA, private-build CA.
	truststore := filepath.Join(dir, "truststore")
	must(t, os.MkdirAll(truststore, 0o755))
	for name, src := range map[string]string{"root-ca.pem": e.trustRT, "intermediate-marketplace.pem": e.interFile, "intermediate-private-build.pem": filepath.Join(e.dir, "private-build.crt")} {
		b, err := os.ReadFile(src)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(truststore, name), b, 0o444))
	}

	t.Run("a vendor gets no signature from the service", func(t *testing.T) {
		for _, args := range [][]string{
			{"--track", "marketplace", "--app-key", "com.acme.app"},
			{"--track", "private-build", "--app-key", "com.acme.app"},
			{"--track", "private-build", "--app-key", "com.globex.app"},
			{"--track", "marketplace", "--profile", "digest-v1", "--app-key", "com.acme.app"},
			{"--track", "private-build", "--profile", "digest-v1", "--app-key", "com.acme.app"},
		} {
			full := append([]string{"sign", "--server", e.srv.Addr, "--version", "1.0.0", "--out", filepath.Join(dir, "stolen.sig")}, args...)
			r := e.as(t, "vendor", append(full, archive)...)
			if r.code != 1 || !strings.Contains(r.stderr, "PermissionDenied") {
				t.Errorf("vendor sign %v: exit %d, %s; want 1 PermissionDenied", args, r.code, r.stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "stolen.sig")); err == nil {
			t.Error("a refused request wrote a signature file")
		}
		// Straight over gRPC too, where no client-side default can help.
		s256, s512 := sha256.Sum256([]byte("x")), sha512.Sum512([]byte("x"))
		_, err := signerv1.NewSignerServiceClient(e.conn(t, "vendor")).SignDigest(t.Context(), &signerv1.SignDigestRequest{
			AppKey: "com.acme.app", Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE, ReviewRef: "forged-review",
			IdempotencyKey: "vendor-1", ArchiveSize: 1, Sha256: s256[:], Sha512: s512[:],
		})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("vendor SignDigest: %v, want PermissionDenied", err)
		}
		// Nor can the pipeline have a private build signed with the marketplace key.
		r := e.as(t, "pipeline", "sign", "--server", e.srv.Addr, "--track", "private-build", "--app-key", "com.acme.app", "--version", "1.0.0", "--out", filepath.Join(dir, "pb.sig"), archive)
		if r.code != 1 || !strings.Contains(r.stderr, "PermissionDenied") {
			t.Errorf("pipeline private build: exit %d, %s; want 1 PermissionDenied", r.code, r.stderr)
		}
	})

	t.Run("the pipeline's signature records the review reference", func(t *testing.T) {
		out := e.as(t, "pipeline", "sign", "--server", e.srv.Addr, "--app-key", "com.acme.app", "--version", "2.0.0", "--review-ref", "RVW-4711", "--out", filepath.Join(dir, "market.sig"), archive)
		m := ledgerEntryRE.FindStringSubmatch(out.stdout)
		if out.code != 0 || m == nil {
			t.Fatalf("pipeline sign: exit %d %s%s", out.code, out.stdout, out.stderr)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		show := e.as(t, "auditor", "ledger", "show", "--server", e.srv.Addr, "--output", "json", strconv.FormatInt(id, 10))
		var entry struct {
			ReviewRef string `json:"review_ref"`
			Caller    string `json:"caller"`
			Track     string `json:"track"`
		}
		if err := json.Unmarshal([]byte(show.stdout), &entry); err != nil {
			t.Fatalf("ledger show: exit %d %v: %s%s", show.code, err, show.stdout, show.stderr)
		}
		if entry.ReviewRef != "RVW-4711" || entry.Caller != callerIDs["pipeline"] {
			t.Errorf("entry %d: %+v; want review_ref RVW-4711 by the pipeline", id, entry)
		}
		if code, rep := verifyJSON(t, "--truststore", truststore, "--signature", filepath.Join(dir, "market.sig"), archive); code != 0 || rep.Origin != chain.OriginMarketplace {
			t.Errorf("marketplace signature: exit %d, %+v", code, rep)
		}
		list := e.as(t, "auditor", "ledger", "list", "--server", e.srv.Addr, "--output", "json")
		if n := strings.Count(strings.TrimSpace(list.stdout), "\n") + 1; list.code != 0 || n != 1 {
			t.Errorf("ledger holds %d entries (exit %d), want only the pipeline's:\n%s", n, list.code, list.stdout)
		}
	})

	t.Run("a vendor's permitted request: a private build that cannot pass as marketplace", func(t *testing.T) {
		key, cert, caChain := filepath.Join(dir, "vendor.key"), filepath.Join(dir, "vendor.crt"), filepath.Join(dir, "vendor-chain.pem")
		mustSignerctl(t, "vendor", "keygen", "--out", key)
		if r := e.as(t, "vendor", "vendor", "certify", "--server", e.srv.Addr, "--key", key, "--app-key", "com.acme.app", "--out-cert", cert, "--out-chain", caChain); r.code != 0 {
			t.Fatalf("vendor certify: exit %d %s", r.code, r.stderr)
		}
		sig := filepath.Join(dir, "pb-own.sig")
		mustSignerctl(t, "sign", "--key", key, "--cert", cert, "--chain", caChain, "--out", sig, archive)

		if code, rep := verifyJSON(t, "--app-key", "com.acme.app", "--truststore", truststore, "--signature", sig, archive); code != 0 || rep.Origin != chain.OriginPrivateBuild {
			t.Errorf("own app: exit %d, %+v; want 0 private-build", code, rep)
		}
		// Another vendor's app: refused, also when marketplace checking is off.
		for _, pol := range []string{"", "marketplace=off"} {
			args := []string{"--app-key", "com.globex.app", "--truststore", truststore, "--signature", sig, archive}
			if pol != "" {
				args = append([]string{"--policy", pol}, args...)
			}
			if code, rep := verifyJSON(t, args...); code != 4 || rep.Cause != "out-of-scope" || rep.Accepted {
				t.Errorf("another vendor's app (policy %q): exit %d, %+v; want 4 out-of-scope", pol, code, rep)
			}
		}
		// Never the marketplace CA: a trust store with only root and
		// marketplace CA does not accept it (origin unknown), nor does OpenSSL.
		marketOnly := filepath.Join(dir, "truststore-marketplace-only")
		copyDir(t, truststore, marketOnly)
		must(t, os.Remove(filepath.Join(marketOnly, "intermediate-private-build.pem")))
		if code, rep := verifyJSON(t, "--policy", "private-build=off", "--app-key", "com.acme.app", "--truststore", marketOnly, "--signature", sig, archive); code != 4 || rep.Origin != chain.OriginUnknown || rep.Accepted {
			t.Errorf("without the private-build CA: exit %d, %+v; want 4, origin unknown", code, rep)
		}
		openssl := requireTool(t, "openssl")
		if r := run(t, openssl, "verify", "-CAfile", e.trustRT, "-untrusted", e.interFile, cert); r.code == 0 {
			t.Errorf("openssl: the vendor certificate chains through the marketplace CA: %s", r.stdout)
		}
		if r := run(t, openssl, "verify", "-CAfile", e.trustRT, "-untrusted", filepath.Join(e.dir, "private-build.crt"), cert); r.code != 0 {
			t.Errorf("openssl: the vendor certificate does not chain through the private-build CA: %s%s", r.stdout, r.stderr)
		}
	})
}
