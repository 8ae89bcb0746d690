package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

// validSet is what an exact list entry keeps valid: the SignatureDigest
// of every signature the ledger recorded under the target before its
// effective time.
type validSet struct {
	exact bool
	valid []string
}

// validSets reads from the ledger's log, for each key and certificate
// revocation, the signatures made under it before its effective time, so
// that an air-gapped verifier keeps exactly those (see revocation.Check).
// A revocation whose signatures the ledger does not all hold (a vendor's
// certificate, or a CA above one) stays not exact. The sets come from the
// ledger, never from the request.
func (s *trustService) validSets(ctx context.Context, revs []revocationstore.Revocation) (map[int64]validSet, error) {
	out := make(map[int64]validSet)
	for _, r := range revs {
		var match revocationstore.Matcher
		switch r.Kind {
		case revocationstore.KindKey:
			match = s.keyMatcher(r.Fingerprint)
		case revocationstore.KindCertificate:
			match = s.certMatcher(r.Issuer, r.Serial)
		default:
			continue
		}
		sigs, complete, err := s.admin.Store.SignaturesBefore(ctx, r, match)
		if err != nil {
			return nil, fmt.Errorf("server: valid signatures of revocation %d: %w", r.ID, err)
		}
		if !complete {
			continue
		}
		set := validSet{exact: true, valid: make([]string, 0, len(sigs))}
		for _, sig := range sigs {
			d := revocation.SignatureDigest(sig.SHA256, sig.Signature)
			if d == "" {
				return nil, fmt.Errorf("server: valid signatures of revocation %d: ledger entry %d has no 32-byte archive digest and 64-byte signature", r.ID, sig.EntryID)
			}
			set.valid = append(set.valid, d)
		}
		out[r.ID] = set
	}
	return out, nil
}

// keyMatcher selects signatures made with the key whose fingerprint is
// fp, or under a CA with that key.
func (s *trustService) keyMatcher(fp string) revocationstore.Matcher {
	fp = strings.ToLower(fp)
	return s.pathMatcher(func(c *x509.Certificate) bool { return keyFingerprint(c) == fp })
}

// certMatcher selects signatures made under the certificate issuer/serial
// (hex), as leaf or as a CA on the path.
func (s *trustService) certMatcher(issuer, serial string) revocationstore.Matcher {
	// Compare serials as numbers: the revocation records a serial as its
	// bytes in hex ("0a1b…" for one whose first byte is below 0x10), and a
	// string comparison with leading zeros trimmed on one side only missed
	// every such certificate (one in 16 random serials): the revocation
	// then listed none of its signatures.
	want := serialNumber(serial)
	return s.pathMatcher(func(c *x509.Certificate) bool {
		return c.Issuer.String() == issuer && c.SerialNumber.Cmp(want) == 0
	})
}
