// Package config owns the `signer serve` configuration: one YAML file,
// read strictly (unknown fields are errors), with defaults, validated at
// start so a mistake is reported with the field that holds it. Secrets
// never live in the file: the database URL, PINs and passphrases are read
// from files or environment variables the file names.
package config
