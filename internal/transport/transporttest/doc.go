// Package transporttest makes throwaway X.509 material for tests of TLS
// listeners and clients: a CA, server certificates for 127.0.0.1/localhost,
// and client certificates carrying a caller identity as a URI SAN. Keys are
// ECDSA P-256 so that TLS 1.2 clients can use them too.
package transporttest
