package ledger

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"time"

	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/translog"
)

// Certificate profiles a certificate leaf names.
const (
	// CertSigning is an archive-signing key version's certificate.
	CertSigning = "signing"
	// CertVendor is a private-build certificate issued to a vendor.
	CertVendor = "vendor"
	// CertCA is a CA certificate the service issues or signs under.
	CertCA = "ca"
)

// CertificateDetail is the detail of a translog.KindCertificate leaf
// (action "issued"): the whole certificate, so an auditor holds every
// certificate the service put into the world and can chain it to a trust
// bundle without asking the server, plus the row it was recorded in.
type CertificateDetail struct {
	Profile string `json:"profile"`
	Serial  string `json:"serial"`
	// SHA256 is of DER, lowercase hex.
	SHA256 string `json:"sha256"`
	DER    []byte `json:"der"`
	// Key and KeyVersion name the key version of a signing certificate.
	Key        string `json:"key,omitempty"`
	KeyVersion int32  `json:"key_version,omitempty"`
	// Vendor certificates: the vendor_certificates row.
	Vendor      string   `json:"vendor,omitempty"`
	Caller      string   `json:"caller,omitempty"`
	AppKeys     []string `json:"app_keys,omitempty"`
	Fingerprint string   `json:"fingerprint,omitempty"`
	NotBefore   string   `json:"not_before,omitempty"`
	NotAfter    string   `json:"not_after,omitempty"`
	// CA certificates: the configured CA name.
	CA string `json:"ca,omitempty"`
}

func certDetail(profile string, c *x509.Certificate) CertificateDetail {
	sum := sha256.Sum256(c.Raw)
	return CertificateDetail{Profile: profile, Serial: hex.EncodeToString(c.SerialNumber.Bytes()), SHA256: hex.EncodeToString(sum[:]), DER: c.Raw}
}

// SigningCertificateEvent is the leaf of the certificate issued to key
// version name/version.
func SigningCertificateEvent(name string, version int32, c *x509.Certificate, actor string, at time.Time) Event {
	d := certDetail(CertSigning, c)
	d.Key, d.KeyVersion = name, version
	return Event{Kind: translog.KindCertificate, Action: "issued", Subject: "certificate " + d.Serial, Actor: actor, At: at, Detail: d}
}

// VendorCertificateEvent is the leaf of an issued private-build certificate.
func VendorCertificateEvent(v revocationstore.IssuedVendorCertificate) Event {
	d := certDetail(CertVendor, v.Cert)
	d.Vendor, d.Caller, d.AppKeys, d.Fingerprint = v.Vendor, v.Caller, v.AppKeys, v.Fingerprint
	d.NotBefore, d.NotAfter = formatTime(v.Cert.NotBefore), formatTime(v.Cert.NotAfter)
	return Event{Kind: translog.KindCertificate, Action: "issued", Subject: "certificate " + v.Serial, Actor: v.Caller, At: v.IssuedAt, Detail: d}
}

// CACertificateEvent is the leaf recording that the service signs under
// the CA certificate c, named name in its configuration. CA certificates
// are issued offline (signerctl ca); the service logs each one the first
// time it starts with it (LogCACertificates).
func CACertificateEvent(name string, c *x509.Certificate, actor string, at time.Time) Event {
	d := certDetail(CertCA, c)
	d.CA = name
	return Event{Kind: translog.KindCertificate, Action: "ca-registered", Subject: "certificate " + d.Serial, Actor: actor, At: at, Detail: d}
}

// PublicationDetail is the detail of a published revocation list or CRL
// leaf (translog.KindRevocation, action "published"): its row, and the
// SHA-256 of the exact signed bytes published.
type PublicationDetail struct {
	Document   string `json:"document"`
	CA         string `json:"ca,omitempty"`
	Version    int64  `json:"version"`
	IssuedAt   string `json:"issued_at"`
	NextUpdate string `json:"next_update"`
	SHA256     string `json:"sha256"`
	Size       int    `json:"size"`
}

// PublicationEvent is the leaf of a published revocation list or CRL.
func PublicationEvent(p revocationstore.PublishedDocument, at time.Time) Event {
	sum := sha256.Sum256(p.Data)
	subject := "revocation-list v" + itoa(p.Version)
	if p.Kind == revocationstore.DocumentCRL {
		subject = "crl " + p.CA + " #" + itoa(p.Version)
	}
	return Event{Kind: translog.KindRevocation, Action: "published", Subject: subject, Actor: p.Actor, At: at,
		Detail: PublicationDetail{Document: p.Kind, CA: p.CA, Version: p.Version, IssuedAt: formatTime(p.IssuedAt),
			NextUpdate: formatTime(p.NextUpdate), SHA256: hex.EncodeToString(sum[:]), Size: len(p.Data)}}
}
