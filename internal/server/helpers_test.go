package server_test

import (
	"crypto/x509"
	"encoding/hex"
)

type x509Cert = x509.Certificate

func hexString(b []byte) string { return hex.EncodeToString(b) }
