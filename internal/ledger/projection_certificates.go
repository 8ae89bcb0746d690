package ledger

import (
	"fmt"
	"strings"

	"github.com/appsign/signer/internal/translog"
)

// certificatesProjection recomputes vendor_certificates from the
// certificate leaves. Signing certificates are bound to key_versions by
// the key leaves' certificate digest; CA certificates have no table.
type certificatesProjection struct {
	vendor *rowSet
}

func newCertificatesProjection() *certificatesProjection {
	return &certificatesProjection{vendor: newRowSet(TableVendorCertificates)}
}

func (p *certificatesProjection) Rows() map[string][]Row {
	return map[string][]Row{TableVendorCertificates: p.vendor.list()}
}

func (p *certificatesProjection) Event(index int64, ev LoggedEvent) string {
	if ev.Kind != translog.KindCertificate {
		return ""
	}
	var d CertificateDetail
	if err := strictJSON(ev.Detail, &d); err != nil {
		return fmt.Sprintf("certificate event detail does not decode: %v", err)
	}
	if d.Profile != CertVendor {
		return ""
	}
	if _, ok := p.vendor.rows[d.Serial]; ok {
		return fmt.Sprintf("vendor certificate %s is issued twice", d.Serial)
	}
	p.vendor.get(d.Serial, index).Cols = map[string]string{"vendor": d.Vendor, "caller": d.Caller, "app_keys": strings.Join(d.AppKeys, ","),
		"fingerprint": d.Fingerprint, "not_before": d.NotBefore, "not_after": d.NotAfter, "certificate_sha256": d.SHA256,
		"issued_at": formatTime(ev.At)}
	return ""
}
