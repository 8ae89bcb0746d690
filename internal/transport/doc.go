// Package transport owns how the signer and its clients connect: which
// addresses may carry plaintext (loopback only, for development) and the
// credentials used everywhere else.
package transport
