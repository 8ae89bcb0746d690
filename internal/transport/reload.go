package transport

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// ReloadInterval is how often, at most, a certificate and key pair is
// checked for changes on disk.
const ReloadInterval = 30 * time.Second

// keyPair is a certificate and key loaded from files and reloaded when
// either file changes. A reload that fails keeps the previous pair, so a
// half-written renewal never takes the listener down.
type keyPair struct {
	certFile, keyFile string
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     [2]fileStamp
	checkedAt time.Time
}

// fileStamp identifies one version of a file.
type fileStamp struct {
	modTime time.Time
	size    int64
}

func newKeyPair(certFile, keyFile string, now func() time.Time) (*keyPair, error) {
	if now == nil {
		now = time.Now
	}
	p := &keyPair{certFile: certFile, keyFile: keyFile, now: now}
	cert, stamp, err := p.load()
	if err != nil {
		return nil, err
	}
	p.cert, p.stamp, p.checkedAt = cert, stamp, now()
	return p, nil
}

// load reads both files, checking the key file's permissions first.
func (p *keyPair) load() (*tls.Certificate, [2]fileStamp, error) {
	var stamp [2]fileStamp
	if err := checkKeyFile(p.keyFile); err != nil {
		return nil, stamp, err
	}
	for i, path := range []string{p.certFile, p.keyFile} {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, stamp, fmt.Errorf("transport: %w", err)
		}
		stamp[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		// The error of LoadX509KeyPair names files and PEM problems, never key bytes.
		return nil, stamp, fmt.Errorf("transport: load key pair %s: %w", p.certFile, err)
	}
	return &cert, stamp, nil
}

// current returns the pair, reloading it first when the files changed and
// ReloadInterval has passed since the last check.
func (p *keyPair) current() *tls.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.checkedAt) < ReloadInterval {
		return p.cert
	}
	p.checkedAt = now
	if !p.changed() {
		return p.cert
	}
	// On failure the previous pair stays, and the next check retries.
	if cert, stamp, err := p.load(); err == nil {
		p.cert, p.stamp = cert, stamp
	}
	return p.cert
}

// changed reports whether either file differs from the loaded version.
func (p *keyPair) changed() bool {
	for i, path := range []string{p.certFile, p.keyFile} {
		fi, err := os.Stat(path)
		if err != nil || (fileStamp{fi.ModTime(), fi.Size()}) != p.stamp[i] {
			return true
		}
	}
	return false
}

func (p *keyPair) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.current(), nil
}

func (p *keyPair) getClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return p.current(), nil
}
