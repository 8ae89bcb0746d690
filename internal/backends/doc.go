// Package backends opens the key backends a configuration's backends
// section names and registers them in one kms.Registry. `signer serve`
// and the offline `signerctl ca` commands share it, so a key URI means
// the same key to both.
package backends
