#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 5s; a count such as 20000x
# runs that many inputs and cannot end on the fuzzer's own deadline): `make test` runs a
# short pass, `make fuzz` a longer one. A crasher is saved by `go test` under
# the package's testdata/fuzz/ and then runs as a regression test in every
# `go test`; commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${FUZZTIME:-5s}
targets=(
  "FuzzParseSignatureFile ./internal/chain"
  "FuzzParseCertificatePEM ./internal/chain"
  "FuzzParse ./internal/statement"
  "FuzzParseFile ./internal/statement"
  "FuzzParseURI ./internal/kms"
  "FuzzValidateMetadata ./internal/server"
  "FuzzParse ./internal/revocation"
  "FuzzParseManifest ./internal/bundle"
  "FuzzParseVendorCSR ./internal/server"
)
# Targets that live in other packages are found by name, so new ones are not forgotten.
while read -r file; do
  pkg="./$(dirname "$file")"
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    entry="$fn $pkg"
    [[ " ${targets[*]} " == *" $entry "* ]] || targets+=("$entry")
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' internal cmd)
for t in "${targets[@]}"; do
  set -- $t
  echo "fuzz $1 in $2 for $time"
  go test -run '^$' -fuzz "^$1\$" -fuzztime "$time" "$2"
done
