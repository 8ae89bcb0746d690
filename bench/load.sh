#!/usr/bin/env bash
# Load benchmark of the whole service, over loopback, with cmd/signerload:
#  1. `signer dev` (a throwaway PostgreSQL with the durable settings: fsync
#     and synchronous_commit on; plaintext; generous limits), every
#     workload, with a CPU profile of the signer over the middle of each run
#     (bench/results/cpu-<workload>.txt: pprof top and the signing path);
#  2. `signer serve` as deploy/quickstart.sh sets it up (its CA ceremony,
#     mutual TLS with its certificates, its policy, 16 pooled connections),
#     on its own throwaway durable PostgreSQL, for the issue's three
#     workloads: what a production deployment gives.
# One JSON report per run goes to bench/results/load-*.json (serve-* for
# part 2). Called by bench/run.sh (`make bench`); bench/report.sh turns the
# results into docs/BENCHMARKS.md.
#
# LOAD_SECONDS (default 20) sets the length of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=bench/results
secs=${LOAD_SECONDS:-20}
mkdir -p "$out"
data=$(mktemp -d /tmp/signer-bench-XXXXXX)
# Private binaries: .bin holds the shared pinned tools.
bin=$data/bin
go build -o "$bin/signer" ./cmd/signer
go build -o "$bin/signerctl" ./cmd/signerctl
go build -o "$bin/signerload" ./cmd/signerload
# shellcheck source=bench/pg.sh
source bench/pg.sh

server_pid=
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
cleanup() {
  stop_server
  pg_stop
  rm -rf "$data"
}
trap cleanup EXIT

tls_flags=()
load() { # name, signerload flags...
  local name=$1; shift
  local cmd=("$bin/signerload" --server "$server" --duration "${secs}s" --format json "${tls_flags[@]}" "$@")
  echo "load $name: signerload --duration ${secs}s $*" >&2
  "${cmd[@]}" | jq --arg cmd "signerload --duration ${secs}s $*" '. + {command: $cmd}' >"$out/load-$name.json"
  jq -c '{signatures_per_second, mb_per_second, p50_ms, p99_ms, errors}' "$out/load-$name.json" >&2
}

# The signing path's functions, as the profiles name them.
path='signArchive$|signDigest$|signBatch$|newSpool|signSpool|statement\.Sign$|digestResponse|MarshalFor|kms\.SignMessages$|eddsa\.(Sign|Verify|VerifyBatch)$|ed25519\.(Sign|Verify)$|FindByIdempotencyKeys?$|Store\)\.Record(Batch)?$|Log\)\.commit$|receiveArchive|loopyWriter\)\.run|Syscall6$|gcBgMarkWorker$'
profiled() { # name, signerload flags...: the run, with a CPU profile over its middle half
  local name=$1
  local psecs=$(( secs / 2 > 0 ? secs / 2 : 1 )) wait=$(( secs / 4 ))
  (sleep "$wait"; curl -sf -o "$data/cpu-$name.pprof" "http://127.0.0.1:$metrics_port/debug/pprof/profile?seconds=$psecs") &
  local profile_pid=$!
  load "$@"
  wait "$profile_pid" || { echo "no profile for $name" >"$out/cpu-$name.txt"; return 0; }
  { echo "# CPU profile of the signer (signer dev), $psecs s in the middle of: $(jq -r .command "$out/load-$name.json")"
    echo "# $(jq -r '"\(.signatures) signatures in \(.seconds) s, whole run"' "$out/load-$name.json")"
    go tool pprof -top -nodecount=15 "$bin/signer" "$data/cpu-$name.pprof" 2>/dev/null
    echo; echo "# the signing path, cumulative:"
    go tool pprof -top -cum -nodecount=400 "$bin/signer" "$data/cpu-$name.pprof" 2>/dev/null | grep -E "$path" || true
  } >"$out/cpu-$name.txt"
}

wait_listening() { # log file
  for _ in $(seq 1 120); do
    grep -q "listening on\|serving on" "$1" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$1" "${1%.out}.err" 2>/dev/null; return 1; }
    sleep 0.5
  done
  echo "the server did not start"; cat "$1"; return 1
}

# 1. signer dev
grpc_port=$((20000 + RANDOM % 20000))
metrics_port=$((grpc_port + 1))
"$bin/signer" dev --data-dir "$data/dev" --listen "127.0.0.1:$grpc_port" \
  --metrics-listen "127.0.0.1:$metrics_port" --pprof --log-level warn \
  >"$data/dev.out" 2>"$data/dev.err" &
server_pid=$!
wait_listening "$data/dev.out"
server=127.0.0.1:$grpc_port

# Warm up (connections, key cache, PostgreSQL buffers); not recorded.
"$bin/signerload" --server "$server" --duration 3s --concurrency 8 >/dev/null
profiled archive-1k-c8    --mode archive --size 1024 --concurrency 8
profiled archive-1k-c32   --mode archive --size 1024 --concurrency 32
profiled archive-1k-c64   --mode archive --size 1024 --concurrency 64
profiled digest-c32       --mode digest --concurrency 32
profiled batch-100-c8     --mode batch --batch-size 100 --concurrency 8
profiled archive-5m-c4    --mode archive --size 5000000 --concurrency 4
profiled archive-100m-c2  --mode archive --size 100000000 --concurrency 2
profiled batch-500-c4     --mode batch --batch-size 500 --concurrency 4
curl -sf "http://127.0.0.1:$metrics_port/metrics" | grep -E '^signer_(signatures_total|ledger_batch_size_(sum|count)|ledger_append_duration_seconds_(sum|count)|grpc_requests_total)' >"$out/load-metrics.txt" || true
stop_server

# 2. signer serve, set up by the production quickstart, with mutual TLS.
pg_start "$(mktemp -d /tmp/signer-bench-pg-XXXXXX)"
grpc_port=$((20000 + RANDOM % 20000))
metrics_port=$((grpc_port + 1))
qs=$data/qs
PATH="$bin:$PATH" DATABASE_ADMIN_URL="$PG_URL" SERVICE_DATABASE_URL="${PG_URL/postgres@/signer_service@}" \
  QS_DIR="$qs" SIGNER_PORT=$grpc_port SIGNER_METRICS_PORT=$metrics_port \
  SIGNER_SERVER= SIGNER_TLS_CA= SIGNER_TLS_CERT= SIGNER_TLS_KEY= \
  bash deploy/quickstart.sh >"$data/quickstart.log" 2>&1 || { cat "$data/quickstart.log"; exit 1; }
# The quickstart's default limits hold, but one: a single identity may
# start 20 calls/s with 8 in flight (limits.DefaultConfig), which would
# measure the limiter. The load's one identity (the pipeline's client
# certificate) gets the rate and concurrency the workloads need; the
# service-wide max_in_flight (128), deadlines, message and archive sizes,
# and streams per connection stay at their defaults.
cat >>"$qs/signer.yaml" <<'YAML'
limits: {rate: 1000000, burst: 1000000, max_concurrent_per_identity: 64}
YAML
(cd "$qs" && DATABASE_URL="${PG_URL/postgres@/signer_service@}" exec "$bin/signer" serve --config signer.yaml --log-level warn) \
  >"$data/serve.out" 2>"$data/serve.err" &
server_pid=$!
wait_listening "$data/serve.out"
server=127.0.0.1:$grpc_port
tls_flags=(--tls-ca "$qs/tls/ca.crt" --tls-cert "$qs/tls/pipeline.crt" --tls-key "$qs/tls/pipeline.key")
"$bin/signerload" --server "$server" --duration 3s --concurrency 8 "${tls_flags[@]}" >/dev/null
load serve-archive-1k-c32 --mode archive --size 1024 --concurrency 32
load serve-digest-c32     --mode digest --concurrency 32
load serve-batch-100-c8   --mode batch --batch-size 100 --concurrency 8
