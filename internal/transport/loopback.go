package transport

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// IsLoopback reports whether the host of addr ("host:port") is a loopback
// address or "localhost". An empty host (":7420", all interfaces) is not.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("transport: address %q: want host:port", addr)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false, nil
	}
	return ip.IsLoopback(), nil
}

// RequireLoopback returns an error unless addr is a loopback address.
func RequireLoopback(addr string) error {
	ok, err := IsLoopback(addr)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("transport: refusing plaintext on %s: plaintext is allowed on loopback only (127.0.0.1, ::1, localhost); use TLS for other addresses", addr)
	}
	return nil
}
