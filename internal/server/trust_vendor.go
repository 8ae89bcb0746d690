package server

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/revocationstore"
)

// maxVendorAppKeys bounds the scope of one private-build certificate.
const maxVendorAppKeys = 32

// IssueVendorCertificate implements signerv1.TrustServiceServer.
func (s *trustService) IssueVendorCertificate(ctx context.Context, req *signerv1.IssueVendorCertificateRequest) (*signerv1.IssueVendorCertificateResponse, error) {
	ca, ok := s.admin.ca(chain.OriginPrivateBuild)
	if !ok {
		return nil, clientErrorf(codes.FailedPrecondition, "this signer has no private-build CA")
	}
	// The method table admits vendors for their own app keys only; check
	// again here so the handler is safe whatever the table says.
	id, ok := auth.IdentityFromContext(ctx)
	if !ok || !id.Has(auth.RoleVendor) || id.Vendor == "" {
		return nil, clientErrorf(codes.PermissionDenied, "private-build certificates are issued to vendor identities only")
	}
	keys := slices.Clone(req.GetAppKeys())
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) == 0 || len(keys) > maxVendorAppKeys {
		return nil, invalidArg("app_keys: name 1 to %d app keys the certificate may sign", maxVendorAppKeys)
	}
	for _, k := range keys {
		if err := ValidateAppKey(k); err != nil {
			return nil, err
		}
		if !id.OwnsAppKey(k) {
			return nil, clientErrorf(codes.PermissionDenied, "app key %s is not one of your app keys", k)
		}
	}
	validity := DefaultVendorValidity
	if v := req.GetValidity(); v != nil && v.AsDuration() != 0 {
		validity = v.AsDuration()
		if validity < 0 || validity > MaxVendorValidity {
			return nil, invalidArg("validity must be positive and at most %s", MaxVendorValidity)
		}
	}
	pub, err := parseVendorCSR(req.GetCsr())
	if err != nil {
		return nil, err
	}
	cert, err := chain.NewPrivateBuildCertificate(s.admin.Rand, ca.Cert, kms.CryptoSigner(ctx, ca.Signer), pub, id.Vendor, keys, s.cfg.Now(), validity)
	if err != nil {
		return nil, err
	}
	// Recorded before it is returned: no certificate exists that the ledger does not hold.
	if err := s.admin.Store.RecordVendorCertificate(ctx, revocationstore.VendorCertificate{Vendor: id.Vendor, Caller: id.Subject, AppKeys: keys, Cert: cert}); err != nil {
		return nil, err
	}
	s.cfg.Logger.InfoContext(ctx, "issued private-build certificate", "vendor", id.Vendor, "serial", hex.EncodeToString(cert.SerialNumber.Bytes()),
		"app_keys", keys, "not_after", cert.NotAfter, "request_id", RequestID(ctx))
	return &signerv1.IssueVendorCertificateResponse{
		CertificatePem: string(chain.CertificatePEM(cert)),
		ChainPem:       string(chain.CertificatePEM(ca.Cert)),
		Serial:         hex.EncodeToString(cert.SerialNumber.Bytes()),
		NotAfter:       timestamppb.New(cert.NotAfter),
		Vendor:         id.Vendor,
		AppKeys:        keys,
	}, nil
}

// parseVendorCSR checks a PKCS#10 request (DER or PEM) for an Ed25519 key
// and its proof of possession, and returns the key. The subject the vendor
// asked for is ignored: the certificate names the authenticated vendor.
func parseVendorCSR(b []byte) (ed25519.PublicKey, error) {
	if block, _ := pem.Decode(b); block != nil {
		if block.Type != "CERTIFICATE REQUEST" {
			return nil, invalidArg("csr: PEM block is %q, want CERTIFICATE REQUEST", block.Type)
		}
		b = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(b)
	if err != nil {
		return nil, invalidArg("csr does not parse as PKCS#10 (DER or PEM)")
	}
	pub, ok := csr.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, invalidArg("csr key is %s; private builds are signed with Ed25519 keys", csr.PublicKeyAlgorithm)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, invalidArg("csr signature does not verify: it must be signed with the key it certifies")
	}
	return pub, nil
}
