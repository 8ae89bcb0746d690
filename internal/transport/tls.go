package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
)

var (
	// ErrKeyPermissions means a private key file can be read or written by
	// its group or by others. Make it 0600 (or 0400), owned by the service.
	ErrKeyPermissions = errors.New("transport: private key file is accessible to group or others")
	// ErrNoCertificates means a PEM file holds no certificate.
	ErrNoCertificates = errors.New("transport: no certificate in PEM file")
)

// tls12Suites are the only TLS 1.2 cipher suites offered: ECDHE key exchange
// (forward secrecy) with an AEAD. TLS 1.3 suites are not configurable in Go
// and are all AEADs.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerTLS returns the TLS configuration of a non-loopback listener: TLS 1.2
// or higher (TLS 1.3 is negotiated whenever the client offers it, since Go
// picks the highest common version), AEAD suites only for TLS 1.2, and mutual
// TLS: every client must present a certificate that chains to a CA in
// clientCAFile.
//
// The server certificate and key are re-read when their files change (checked
// at most every ReloadInterval on new handshakes), so a renewed certificate
// is picked up without a restart; a renewal that fails to load keeps the
// previous pair. The client CA file is read once. keyFile must not be
// accessible to group or others (ErrKeyPermissions).
func ServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	pair, err := newKeyPair(certFile, keyFile, nil)
	if err != nil {
		return nil, err
	}
	clientCAs, err := loadPool(clientCAFile)
	if err != nil {
		return nil, fmt.Errorf("transport: client CA: %w", err)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   tls12Suites,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      clientCAs,
		GetCertificate: pair.getCertificate,
	}, nil
}

// ClientTLS returns the TLS configuration of a client of the signer: TLS 1.2
// or higher, the server verified against the CAs in caFile under serverName,
// and the client certificate from certFile/keyFile presented for mutual TLS
// (reloaded when the files change, like ServerTLS). certFile and keyFile may
// both be empty for a client without a certificate (which a signer refuses;
// useful only against other servers). keyFile must not be accessible to
// group or others.
func ClientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	roots, err := loadPool(caFile)
	if err != nil {
		return nil, fmt.Errorf("transport: server CA: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: tls12Suites,
		RootCAs:      roots,
		ServerName:   serverName,
	}
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "" || keyFile == "":
		return nil, errors.New("transport: client certificate and key files must be given together")
	default:
		pair, err := newKeyPair(certFile, keyFile, nil)
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = pair.getClientCertificate
	}
	return cfg, nil
}
