package chain

import (
	"errors"
	"fmt"
	"io"
	"math/big"
)

// serialBytes is the size of a serial number's random draw: 128 bits, twice
// the 64 bits of CSPRNG output the CA/Browser Forum Baseline Requirements
// (7.1) ask for. As a positive DER INTEGER it takes at most 17 octets, within
// RFC 5280's limit of 20 (4.1.2.2).
const serialBytes = 16

// newSerial returns a random positive serial number of at most 128 bits,
// drawn from rand (crypto/rand in production). It is the only serial
// generator of the service: every certificate profile issued here uses it.
func newSerial(rand io.Reader) (*big.Int, error) {
	if rand == nil {
		return nil, errors.New("no randomness source")
	}
	// A zero serial has probability 2^-128; retrying a few times only
	// guards against a broken source that returns zeros.
	for range 4 {
		buf := make([]byte, serialBytes)
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("generate serial: %w", err)
		}
		if n := new(big.Int).SetBytes(buf); n.Sign() > 0 {
			return n, nil
		}
	}
	return nil, errors.New("generate serial: randomness source returns zeros")
}
