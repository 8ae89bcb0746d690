#!/usr/bin/env bash
# Load benchmark of the whole service: starts `signer dev` (a throwaway
# PostgreSQL with the durable settings: fsync and synchronous_commit on),
# drives it with cmd/signerload over loopback, takes a CPU profile of the
# signer under the 1 KB / 32-caller load, and writes one JSON report per
# run to bench/results/load-*.json. Called by bench/run.sh (`make bench`);
# bench/report.sh turns the results into docs/BENCHMARKS.md.
#
# LOAD_SECONDS (default 20) sets the length of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
bin=.bin
secs=${LOAD_SECONDS:-20}
mkdir -p "$out" "$bin"
go build -o "$bin/signer" ./cmd/signer
go build -o "$bin/signerload" ./cmd/signerload

data=$(mktemp -d /tmp/signer-bench-XXXXXX)
grpc_port=$((20000 + RANDOM % 20000))
metrics_port=$((grpc_port + 1))
"$bin/signer" dev --data-dir "$data" --listen "127.0.0.1:$grpc_port" \
  --metrics-listen "127.0.0.1:$metrics_port" --pprof --log-level warn \
  >"$data/signer.out" 2>"$data/signer.err" &
signer_pid=$!
cleanup() {
  kill -TERM "$signer_pid" 2>/dev/null || true
  wait "$signer_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  grep -q "listening on" "$data/signer.out" 2>/dev/null && break
  kill -0 "$signer_pid" 2>/dev/null || { cat "$data/signer.err"; exit 1; }
  sleep 0.5
done
grep -q "listening on" "$data/signer.out" || { echo "signer did not start"; cat "$data/signer.err"; exit 1; }
server=127.0.0.1:$grpc_port

load() { # name, signerload flags...
  local name=$1; shift
  local cmd=("$bin/signerload" --server "$server" --duration "${secs}s" --format json "$@")
  echo "load $name: ${cmd[*]}" >&2
  "${cmd[@]}" | jq --arg cmd "signerload --duration ${secs}s $*" '. + {command: $cmd}' >"$out/load-$name.json"
  jq -c '{signatures_per_second, mb_per_second, p50_ms, p99_ms, errors}' "$out/load-$name.json" >&2
}

# Warm up (connections, key cache, PostgreSQL buffers); not recorded.
"$bin/signerload" --server "$server" --duration 3s --concurrency 8 >/dev/null
load archive-1k-c8  --mode archive --size 1024 --concurrency 8
# The profile covers the middle of the 32-caller run.
(sleep 4; curl -sf -o "$out/cpu-archive-1k-c32.pprof" "http://127.0.0.1:$metrics_port/debug/pprof/profile?seconds=10") &
profile_pid=$!
load archive-1k-c32 --mode archive --size 1024 --concurrency 32
wait "$profile_pid"
{ go tool pprof -top -nodecount=15 "$bin/signer" "$out/cpu-archive-1k-c32.pprof"
  echo; echo "# the signing path, cumulative:"
  go tool pprof -top -cum -nodecount=200 "$bin/signer" "$out/cpu-archive-1k-c32.pprof" |
    grep -E 'signArchive$|newSpool|signSpool|eddsa\.(Sign|Verify)$|FindByIdempotencyKey|Store\)\.Record|receiveArchive|loopyWriter\)\.run|Syscall6$'
} >"$out/cpu-archive-1k-c32.txt" 2>/dev/null || true
load archive-1k-c64 --mode archive --size 1024 --concurrency 64
load digest-c32     --mode digest --concurrency 32
load archive-5m-c4  --mode archive --size 5000000 --concurrency 4
load archive-100m-c2 --mode archive --size 100000000 --concurrency 2
load batch-500-c4   --mode batch --batch-size 500 --concurrency 4
curl -sf "http://127.0.0.1:$metrics_port/metrics" | grep -E '^signer_(signatures_total|ledger_batch_size_(sum|count)|ledger_append_duration_seconds_(sum|count)|grpc_requests_total)' >"$out/load-metrics.txt" || true
