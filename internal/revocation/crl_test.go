package revocation_test

import (
	"crypto/x509"
	"errors"
	"math/big"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

func TestBuildCRLVerifiedByOpenSSL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	p := newPKI(t, testNow)
	revoked, kept := p.leaf(t, testNow), p.leaf(t, testNow)
	der, err := revocation.BuildCRL(t.Context(), p.inter, p.interKey, big.NewInt(3),
		[]revocation.CRLEntry{{Serial: revoked.SerialNumber, RevokedAt: testNow.Add(-time.Hour), Reason: revocation.ReasonKeyCompromise}},
		testNow.Add(-time.Hour), testNow.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if crl.Number.Int64() != 3 || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].ReasonCode != 1 {
		t.Errorf("CRL number %v, entries %+v; want number 3 and one keyCompromise entry", crl.Number, crl.RevokedCertificateEntries)
	}

	dir := t.TempDir()
	crlDER := writeFile(t, dir, "crl.der", der)
	interPEM := writeFile(t, dir, "inter.pem", chain.CertificatePEM(p.inter))
	rootPEM := writeFile(t, dir, "root.pem", chain.CertificatePEM(p.root))
	otherPEM := writeFile(t, dir, "other.pem", chain.CertificatePEM(newPKI(t, testNow).inter))

	t.Run("openssl crl verifies the signature", func(t *testing.T) {
		out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", crlDER, "-CAfile", interPEM, "-noout").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "verify OK") {
			t.Errorf("openssl crl: %v: %s", err, out)
		}
	})
	t.Run("openssl crl rejects another issuer", func(t *testing.T) {
		out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", crlDER, "-CAfile", otherPEM, "-noout").CombinedOutput()
		if err == nil && strings.Contains(string(out), "verify OK") {
			t.Errorf("openssl crl verified the CRL against another CA: %s", out)
		}
	})

	crlPEM, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", crlDER, "-outform", "PEM").Output()
	if err != nil {
		t.Fatal(err)
	}
	crlPEMPath := writeFile(t, dir, "crl.pem", crlPEM)
	attime := strconv.FormatInt(testNow.Unix(), 10)
	for _, tt := range []struct {
		name  string
		leaf  *x509.Certificate
		valid bool
	}{{"revoked leaf", revoked, false}, {"other leaf", kept, true}} {
		t.Run("openssl verify -crl_check: "+tt.name, func(t *testing.T) {
			leafPEM := writeFile(t, t.TempDir(), "leaf.pem", chain.CertificatePEM(tt.leaf))
			out, err := exec.Command(openssl, "verify", "-attime", attime, "-crl_check",
				"-CAfile", rootPEM, "-untrusted", interPEM, "-CRLfile", crlPEMPath, leafPEM).CombinedOutput()
			if valid := err == nil; valid != tt.valid {
				t.Fatalf("openssl verify valid=%v, want %v: %s", valid, tt.valid, out)
			}
			if !tt.valid && !strings.Contains(string(out), "certificate revoked") {
				t.Errorf("openssl verify failed for another reason: %s", out)
			}
		})
	}
}

func TestBuildCRLRejects(t *testing.T) {
	p := newPKI(t, testNow)
	leaf := p.leaf(t, testNow)
	entry := []revocation.CRLEntry{{Serial: big.NewInt(5), RevokedAt: testNow, Reason: revocation.ReasonSuperseded}}
	tests := []struct {
		name       string
		issuer     *x509.Certificate
		number     *big.Int
		entries    []revocation.CRLEntry
		this, next time.Time
	}{
		{name: "key of another CA", issuer: p.inter, number: big.NewInt(1), this: testNow, next: testNow.Add(time.Hour)},
		{name: "leaf as issuer", issuer: leaf, number: big.NewInt(1), this: testNow, next: testNow.Add(time.Hour)},
		{name: "no number", issuer: p.root, this: testNow, next: testNow.Add(time.Hour)},
		{name: "next before this", issuer: p.root, number: big.NewInt(1), this: testNow, next: testNow.Add(-time.Hour)},
		{name: "duplicate serial", issuer: p.root, number: big.NewInt(1), entries: append(entry, entry...), this: testNow, next: testNow.Add(time.Hour)},
		{name: "entry without time", issuer: p.root, number: big.NewInt(1), entries: []revocation.CRLEntry{{Serial: big.NewInt(5), Reason: revocation.ReasonSuperseded}}, this: testNow, next: testNow.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Always the root's key: wrong for every issuer but the root.
			if _, err := revocation.BuildCRL(t.Context(), tt.issuer, p.rootKey, tt.number, tt.entries, tt.this, tt.next); !errors.Is(err, revocation.ErrInvalidList) {
				t.Errorf("BuildCRL = %v, want ErrInvalidList", err)
			}
		})
	}
}

func TestCRLEntriesFor(t *testing.T) {
	p := newPKI(t, testNow)
	l, err := revocation.Build(revocation.Input{
		Issuer: "t", Version: 1, IssuedAt: testNow, NextUpdate: testNow.Add(time.Hour),
		Certificates: []revocation.RevokedCertificate{
			{Issuer: p.inter.Subject.String(), Serial: "0a1b", EffectiveFrom: testNow, Reason: revocation.ReasonKeyCompromise},
			{Issuer: p.root.Subject.String(), Serial: "ff", EffectiveFrom: testNow, Reason: revocation.ReasonCACompromise},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := revocation.CRLEntriesFor(l, p.inter)
	if len(got) != 1 || got[0].Serial.Cmp(big.NewInt(0x0a1b)) != 0 || !got[0].RevokedAt.Equal(testNow) || got[0].Reason != revocation.ReasonKeyCompromise {
		t.Fatalf("CRLEntriesFor(intermediate) = %+v, want serial 0a1b only", got)
	}
	if _, err := revocation.BuildCRL(t.Context(), p.inter, p.interKey, big.NewInt(1), got, testNow, testNow.Add(time.Hour)); err != nil {
		t.Errorf("BuildCRL from CRLEntriesFor = %v", err)
	}
}
