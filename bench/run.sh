#!/usr/bin/env bash
# Runs the benchmarks and writes their figures, with the machine and commit
# they ran on, to bench/results/. Called by `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
mkdir -p "$out"
header() {
  echo "# $1"
  echo "# date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet -- . ':(exclude)bench/results' ':(exclude)docs/BENCHMARKS.md' 2>/dev/null || echo '+dirty')"
  echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
  echo "# go:      $(go version)"
  echo "# command: $2"
}
run() { # name, command...
  local name=$1; shift
  { header "$name" "$*"; "$@"; } 2>&1 | tee "$out/$name.txt"
}
run eddsa  go test -run '^$' -bench . -benchmem -count 1 ./internal/eddsa/
run kms    go test -run '^$' -bench . -benchmem -count 1 ./internal/kms/...
run memory go test -run '^$' -bench BenchmarkArchiveMemory -benchtime 1x -timeout 30m ./integration/
# Offline bulk verification: 10,000 small archives against a 100,000-entry exact revocation list.
run bulkverify go test -run '^$' -bench BenchmarkVerifyDir -benchtime 1x -count 1 ./cmd/signerctl/
# The ledger: append rate (group commit), auditor query p50/p99 and verify rate at 1M entries.
run ledger go run ./cmd/ledgerseed -n 1000000 -bench
# The whole service under load (real signer, durable PostgreSQL); then the report.
run load   bash bench/load.sh
bash bench/peer.sh # issue 13's peer (OpenBao Transit) beside signer dev, if PEER_BAO names a bao binary: bench/results/peer.txt
make --no-print-directory drill # issue 16's incident drill, 100k + 100k: bench/results/incident.txt
bash bench/report.sh
