package server

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

// maxAffectedListed bounds the ledger entries a revocation response
// carries in full (one gRPC message); the response's affected_total says
// how many there are, so a client never mistakes the list for all of them.
const maxAffectedListed = 10000

// RevokeSignature implements signerv1.TrustServiceServer.
func (s *trustService) RevokeSignature(ctx context.Context, req *signerv1.RevokeSignatureRequest) (*signerv1.RevokeSignatureResponse, error) {
	return s.revokeSignature(ctx, req)
}

func (s *trustService) revokeSignature(ctx context.Context, req *signerv1.RevokeSignatureRequest) (*signerv1.RevokeSignatureResponse, error) {
	reason, err := parseReason(req.GetReason())
	if err != nil {
		return nil, err
	}
	var t revocationstore.ArchiveTarget
	switch {
	case req.GetLedgerEntryId() > 0:
		t.LedgerEntryID = req.GetLedgerEntryId()
	case len(req.GetSha256()) == sha256.Size:
		t.SHA256 = hex.EncodeToString(req.GetSha256())
	default:
		return nil, invalidArg("name the archive: a positive ledger_entry_id or a 32-byte sha256")
	}
	r, _, ids, err := s.admin.Store.RevokeArchive(ctx, t, reason, s.caller(ctx))
	if err != nil {
		return nil, err
	}
	affected, err := s.entries(ctx, r.ID, ids)
	if err != nil {
		return nil, err
	}
	return &signerv1.RevokeSignatureResponse{Revocation: revocationProto(r), Affected: affected, AffectedTotal: int64(len(ids))}, nil
}

// RevokeCertificate implements signerv1.TrustServiceServer.
func (s *trustService) RevokeCertificate(ctx context.Context, req *signerv1.RevokeCertificateRequest) (*signerv1.RevokeCertificateResponse, error) {
	return s.revokeCertificate(ctx, req)
}

func (s *trustService) revokeCertificate(ctx context.Context, req *signerv1.RevokeCertificateRequest) (*signerv1.RevokeCertificateResponse, error) {
	reason, err := parseReason(req.GetReason())
	if err != nil {
		return nil, err
	}
	if req.GetEffectiveFrom() == nil {
		return nil, invalidArg("effective_from is required: signatures made at or after it are revoked")
	}
	var (
		t    revocationstore.CertificateTarget
		isCA bool
	)
	if len(req.GetCertificate()) > 0 {
		c, err := parseCertificateBytes(req.GetCertificate())
		if err != nil {
			return nil, err
		}
		t = revocationstore.CertificateTarget{Issuer: c.Issuer.String(), Serial: hex.EncodeToString(c.SerialNumber.Bytes()), Subject: c.Subject.String()}
		isCA = c.IsCA
	} else {
		n, ok := new(big.Int).SetString(req.GetSerial(), 16)
		if req.GetIssuer() == "" || !ok || n.Sign() <= 0 {
			return nil, invalidArg("name the certificate: certificate (DER or PEM), or issuer (DN) and serial (hex)")
		}
		t = revocationstore.CertificateTarget{Issuer: req.GetIssuer(), Serial: hex.EncodeToString(n.Bytes())}
	}
	// A CA certificate's revocation takes down everything under it, and a
	// signing certificate's everything its key version signed from then
	// on (as a key revocation does): a second security admin must agree
	// to exactly these parameters.
	action := ""
	switch signing, err := s.signingCertificate(ctx, t); {
	case err != nil:
		return nil, err
	case isCA || s.knownCA(t):
		action = ActionRevokeCA
	case signing:
		action = ActionRevokeSigningCrt
	}
	if action != "" {
		target := ledger.RevokeCertificateApprovalTarget(t.Issuer, t.Serial, req.GetEffectiveFrom().AsTime(), string(reason))
		if err := s.cfg.requireApproval(ctx, req.GetApprovalId(), action, target); err != nil {
			return nil, err
		}
	}
	match := s.certMatcher(t.Issuer, t.Serial)
	r, changed, ids, err := s.admin.Store.RevokeCertificate(ctx, t, req.GetEffectiveFrom().AsTime(), reason, s.caller(ctx), match)
	if err != nil {
		return nil, err
	}
	affected, err := s.entries(ctx, r.ID, ids)
	if err != nil {
		return nil, err
	}
	return &signerv1.RevokeCertificateResponse{Revocation: revocationProto(r), Changed: changed, Affected: affected, AffectedTotal: int64(len(ids))}, nil
}

// knownCA reports whether t names one of the service's CA certificates:
// those it publishes in trust bundles and those it holds keys for.
func (s *trustService) knownCA(t revocationstore.CertificateTarget) bool {
	var cas []*x509.Certificate
	cas = append(cas, s.cfg.Trust.Roots...)
	cas = append(cas, s.cfg.Trust.Intermediates...)
	for _, c := range s.admin.CAs {
		cas = append(cas, c.Cert)
	}
	for _, c := range cas {
		if c.Issuer.String() == t.Issuer && c.SerialNumber.Cmp(serialNumber(t.Serial)) == 0 {
			return true
		}
	}
	return false
}

// signingCertificate reports whether t names the certificate of the
// active signing key or of any key version in the keystore.
func (s *trustService) signingCertificate(ctx context.Context, t revocationstore.CertificateTarget) (bool, error) {
	n := serialNumber(t.Serial)
	is := func(c *x509.Certificate) bool {
		return c != nil && c.Issuer.String() == t.Issuer && c.SerialNumber.Cmp(n) == 0
	}
	if k, err := s.cfg.Keys.Active(ctx); err == nil && is(k.Cert) {
		return true, nil
	}
	if s.cfg.keyStore == nil {
		return false, nil
	}
	keys, err := s.cfg.keyStore.List(ctx)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		for _, v := range k.Versions {
			if is(v.Cert) {
				return true, nil
			}
		}
	}
	return false, nil
}

// serialNumber parses a hex serial; a malformed one is -1, which no
// certificate has.
func serialNumber(hexSerial string) *big.Int {
	n, ok := new(big.Int).SetString(hexSerial, 16)
	if !ok {
		return big.NewInt(-1)
	}
	return n
}

// RevokeKey implements signerv1.TrustServiceServer.
func (s *trustService) RevokeKey(ctx context.Context, req *signerv1.RevokeKeyRequest) (*signerv1.RevokeKeyResponse, error) {
	return s.revokeKey(ctx, req)
}

func (s *trustService) revokeKey(ctx context.Context, req *signerv1.RevokeKeyRequest) (*signerv1.RevokeKeyResponse, error) {
	reason, err := parseReason(req.GetReason())
	if err != nil {
		return nil, err
	}
	if req.GetEffectiveFrom() == nil {
		return nil, invalidArg("effective_from is required: signatures made at or after it are revoked")
	}
	fp, subject := strings.ToLower(req.GetFingerprint()), ""
	if len(req.GetCertificate()) > 0 {
		c, err := parseCertificateBytes(req.GetCertificate())
		if err != nil {
			return nil, err
		}
		fp, subject = keyFingerprint(c), c.Subject.String()
	}
	if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
		return nil, invalidArg("name the key: a certificate for it, or fingerprint (64 hex digits, SHA-256 of the DER SubjectPublicKeyInfo)")
	}
	// Revoking a key revokes every signature it made from effective_from
	// on, across apps: a second security admin must agree.
	target := ledger.RevokeKeyApprovalTarget(fp, req.GetEffectiveFrom().AsTime(), string(reason))
	if err := s.cfg.requireApproval(ctx, req.GetApprovalId(), ActionRevokeKey, target); err != nil {
		return nil, err
	}
	match := s.keyMatcher(fp)
	r, changed, ids, err := s.admin.Store.RevokeKey(ctx, fp, subject, req.GetEffectiveFrom().AsTime(), reason, s.caller(ctx), match)
	if err != nil {
		return nil, err
	}
	affected, err := s.entries(ctx, r.ID, ids)
	if err != nil {
		return nil, err
	}
	return &signerv1.RevokeKeyResponse{Revocation: revocationProto(r), Changed: changed, Affected: affected, AffectedTotal: int64(len(ids))}, nil
}

// ListRevocations implements signerv1.TrustServiceServer.
func (s *trustService) ListRevocations(ctx context.Context, _ *signerv1.ListRevocationsRequest) (*signerv1.ListRevocationsResponse, error) {
	revs, err := s.admin.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	resp := &signerv1.ListRevocationsResponse{}
	for _, r := range revs {
		resp.Revocations = append(resp.Revocations, revocationProto(r))
	}
	return resp, nil
}

// pathMatcher returns a matcher that selects signatures whose certificate,
// or a CA on its path to a root the service knows, satisfies hit: so an
// entry for an intermediate CA revokes what it issued.
func (s *trustService) pathMatcher(hit func(*x509.Certificate) bool) revocationstore.Matcher {
	cas := append(append([]*x509.Certificate(nil), s.cfg.Trust.Intermediates...), s.cfg.Trust.Roots...)
	for _, ca := range s.admin.CAs {
		cas = append(cas, ca.Cert)
	}
	return func(sc revocationstore.SignedCert) bool {
		c := sc.Cert
		for depth := 0; c != nil && depth < 4; depth++ {
			if hit(c) {
				return true
			}
			var parent *x509.Certificate
			for _, ca := range cas {
				if ca.Equal(c) {
					continue
				}
				if c.CheckSignatureFrom(ca) == nil {
					parent = ca
					break
				}
			}
			c = parent
		}
		return false
	}
}

// entries is a response's preview of the affected entries: the lowest
// maxAffectedListed of ids, read a page at a time through the
// revocation's listing (ListEntries revocation_id), one query per 1000
// rather than one per entry, each of which probed the entry's revocation
// status through the whole affected_entry_ids array.
func (s *trustService) entries(ctx context.Context, revocationID int64, ids []int64) ([]*signerv1.LedgerEntry, error) {
	ids = slices.Sorted(slices.Values(ids))
	ids = ids[:min(len(ids), maxAffectedListed)]
	want := make(map[int64]*signerv1.LedgerEntry, len(ids))
	for _, id := range ids {
		want[id] = nil
	}
	found, after := 0, int64(0)
	for found < len(ids) {
		page, err := s.cfg.Ledger.List(ctx, ledger.Filter{RevocationID: revocationID, AfterID: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if p, ok := want[e.ID]; ok && p == nil {
				want[e.ID] = entryProto(e)
				found++
			}
		}
		after = page[len(page)-1].ID
	}
	out := make([]*signerv1.LedgerEntry, 0, len(ids))
	for _, id := range ids {
		if want[id] == nil {
			// Not under the revocation's events (it cannot happen): read it alone.
			e, err := s.cfg.Ledger.Get(ctx, id)
			if err != nil {
				return nil, err
			}
			want[id] = entryProto(e)
		}
		out = append(out, want[id])
	}
	return out, nil
}

func parseReason(s string) (revocation.Reason, error) {
	r, err := revocation.ParseReason(s)
	if err != nil {
		names := make([]string, 0, len(revocation.Reasons()))
		for _, r := range revocation.Reasons() {
			names = append(names, string(r))
		}
		return "", invalidArg("reason %q is not one of %s", s, strings.Join(names, ", "))
	}
	return r, nil
}

// parseCertificateBytes accepts one certificate as DER or PEM.
func parseCertificateBytes(b []byte) (*x509.Certificate, error) {
	if block, _ := pem.Decode(b); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, invalidArg("certificate: PEM block is %q, want CERTIFICATE", block.Type)
		}
		b = block.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, invalidArg("certificate does not parse as X.509 (DER or PEM)")
	}
	return c, nil
}

func keyFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

func revocationProto(r revocationstore.Revocation) *signerv1.Revocation {
	p := &signerv1.Revocation{
		Id: r.ID, ArchiveSha256: r.ArchiveSHA256, LedgerEntryId: r.LedgerEntryID, Issuer: r.Issuer, Serial: r.Serial,
		KeyFingerprint: r.Fingerprint, Subject: r.Subject, Reason: string(r.Reason),
		RevokedAt: timestamppb.New(r.RevokedAt), RevokedBy: r.RevokedBy,
	}
	switch r.Kind {
	case revocationstore.KindArchive:
		p.Kind = signerv1.RevocationKind_REVOCATION_KIND_ARCHIVE
	case revocationstore.KindCertificate:
		p.Kind = signerv1.RevocationKind_REVOCATION_KIND_CERTIFICATE
	case revocationstore.KindKey:
		p.Kind = signerv1.RevocationKind_REVOCATION_KIND_KEY
	}
	if !r.EffectiveFrom.IsZero() {
		p.EffectiveFrom = timestamppb.New(r.EffectiveFrom)
	}
	return p
}
