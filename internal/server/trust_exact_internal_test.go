package server

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/appsign/signer/internal/revocationstore"
)

// TestCertMatcherSerials: a certificate revocation matches its certificate
// by issuer and serial whatever the serial's hex looks like — in
// particular a serial whose first byte is below 0x10, recorded as "0a…"
// (one random serial in 16), which a string comparison missed, so the
// revocation listed none of the certificate's signatures. (Found by
// integration TestIncidentKeyCompromiseDrill at N=100,000: its certificate
// revocation covered 0 signatures.)
func TestCertMatcherSerials(t *testing.T) {
	issuer := pkix.Name{CommonName: "signer test CA"}
	s := &trustService{cfg: &Config{}, admin: &TrustAdmin{}}
	cases := []struct {
		name   string
		serial *big.Int
		target string // as the revocation records it
		want   bool
	}{
		{"leading zero byte", big.NewInt(0x0a1b), "0a1b", true},
		{"leading zero byte, trimmed", big.NewInt(0x0a1b), "a1b", true},
		{"no leading zero", big.NewInt(0xa1b2), "a1b2", true},
		{"upper case", big.NewInt(0xa1b2), "A1B2", true},
		{"another serial", big.NewInt(0x0a1c), "0a1b", false},
		{"not hex", big.NewInt(0x0a1b), "zz", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &x509.Certificate{Issuer: issuer, SerialNumber: tc.serial}
			recorded := hex.EncodeToString(tc.serial.Bytes())
			if tc.name == "leading zero byte" && recorded != tc.target {
				t.Fatalf("the store records %q, the case assumes %q", recorded, tc.target)
			}
			match := s.certMatcher(issuer.String(), tc.target)
			if got := match(revocationstore.SignedCert{Cert: c}); got != tc.want {
				t.Errorf("match(serial %x, target %q) = %v, want %v", tc.serial, tc.target, got, tc.want)
			}
			other := s.certMatcher("CN=another CA", tc.target)
			if other(revocationstore.SignedCert{Cert: c}) {
				t.Errorf("matched under another issuer")
			}
		})
	}
}
