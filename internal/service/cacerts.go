package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/server"
)

// logCACertificates puts every CA certificate the service signs or checks
// under (trust roots and intermediates, the CAs that issue CRLs and vendor
// certificates, the revocation-list signer) into the ledger's log, once
// each: they are issued offline, and the log is where an auditor sees
// every one the service ever used.
func logCACertificates(ctx context.Context, store *ledger.Store, actor string, trust server.Trust, admin *server.TrustAdmin, log *slog.Logger) error {
	var certs []ledger.NamedCert
	for _, c := range trust.Roots {
		certs = append(certs, ledger.NamedCert{Name: "root", Cert: c})
	}
	for _, c := range trust.Intermediates {
		certs = append(certs, ledger.NamedCert{Name: "intermediate", Cert: c})
	}
	if admin != nil {
		for _, ca := range admin.CAs {
			certs = append(certs, ledger.NamedCert{Name: ca.Name, Cert: ca.Cert})
		}
		if admin.ListSignerCert != nil {
			certs = append(certs, ledger.NamedCert{Name: "revocation-list-signer", Cert: admin.ListSignerCert})
		}
	}
	n, err := store.LogCACertificates(ctx, actor, time.Now(), certs)
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("logged CA certificates new to the ledger", "count", n)
	}
	return nil
}
