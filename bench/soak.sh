#!/usr/bin/env bash
# Soak run (`make soak`, not part of `make test`): `signer dev` on its own
# throwaway PostgreSQL (durable settings) under mixed traffic for
# SOAK_DURATION (default 30m): small archives, 5 MB archives (through the
# spool), digest statements, SignBatch and an auditor (ledger list, signed
# checkpoints, saved for the final verify). Every SOAK_SAMPLE (default 10s)
# it samples the signer's RSS, goroutines, open files and database pool
# connections into bench/results/soak.txt, and ends with
# `signerctl ledger verify` against the first checkpoint the auditor saved.
# The run fails if any load request failed or verify does not pass.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
bin=.bin
dur=${SOAK_DURATION:-30m}
every=${SOAK_SAMPLE:-10s}
mkdir -p "$out" "$bin"
go build -o "$bin/signer" ./cmd/signer
go build -o "$bin/signerctl" ./cmd/signerctl
go build -o "$bin/signerload" ./cmd/signerload

data=$(mktemp -d /tmp/signer-soak-XXXXXX)
grpc_port=$((20000 + RANDOM % 20000))
metrics_port=$((grpc_port + 1))
"$bin/signer" dev --data-dir "$data" --listen "127.0.0.1:$grpc_port" \
  --metrics-listen "127.0.0.1:$metrics_port" --log-level warn \
  >"$data/signer.out" 2>"$data/signer.err" &
signer_pid=$!
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
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
metrics=http://127.0.0.1:$metrics_port/metrics

metric() { # name{labels} -> value (sum over series when labels are omitted)
  curl -sf "$metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%.0f", s }'
}
sample() {
  local rss fds gor acq idle sigs
  rss=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$signer_pid/status")
  fds=$(ls "/proc/$signer_pid/fd" | wc -l)
  gor=$(metric go_goroutines)
  acq=$(metric 'signer_db_pool_connections{state="acquired"}')
  idle=$(metric 'signer_db_pool_connections{state="idle"}')
  sigs=$(metric signer_signatures_total)
  printf '%-9s %8s %10s %9s %8s %8s %12s\n' "$(( $(date +%s) - start ))s" "$rss" "$gor" "$fds" "$acq" "$idle" "$sigs"
}

start=$(date +%s)
load() { # name, signerload flags...
  local name=$1; shift
  "$bin/signerload" --server "$server" --duration "$dur" --format json "$@" >"$data/load-$name.json" &
  pids+=($!)
}
load archive-1k  --mode archive --size 1024 --concurrency 4
load archive-5m  --mode archive --size 5000000 --concurrency 1
load digest      --mode digest --concurrency 2
load batch-100   --mode batch --batch-size 100 --concurrency 1
loaders=("${pids[@]}")

# The auditor: pages through the newest entries and saves signed checkpoints.
( n=0
  while :; do
    "$bin/signerctl" ledger list --server "$server" --limit 100 --output json >/dev/null
    "$bin/signerctl" ledger checkpoint --server "$server" --out "$data/checkpoint-$n.txt" >/dev/null
    n=$((n + 1)); sleep 5
  done ) >"$data/auditor.log" 2>&1 &
auditor=$!
pids+=("$auditor")

samples="$data/samples.txt"
printf '%-9s %8s %10s %9s %8s %8s %12s\n' elapsed rss_mb goroutines open_fds db_busy db_idle signatures >"$samples"
sample >>"$samples"
while kill -0 "${loaders[0]}" 2>/dev/null; do
  sleep "$every"
  sample >>"$samples"
done
for p in "${loaders[@]}"; do wait "$p"; done
kill "$auditor" 2>/dev/null || true
sample >>"$samples"

verify=$("$bin/signerctl" ledger verify --server "$server" --checkpoint "$data/checkpoint-0.txt" --quiet 2>&1) && ok=1 || ok=0

result="$out/soak.txt"
{
  echo "# make soak: SOAK_DURATION=$dur, sampled every $every, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), $(nproc) CPUs"
  echo "# traffic: signerload archive 1 KB x4, archive 5 MB x1, digest x2, SignBatch of 100 x1; auditor: ledger list + checkpoint every 5 s"
  echo
  cat "$samples"
  echo
  for f in "$data"/load-*.json; do
    name=$(basename "$f" .json)
    jq -c --arg n "${name#load-}" '{load: $n, requests, signatures, signatures_per_second, p50_ms, p99_ms, max_ms, errors}' "$f"
  done
  echo
  awk 'NR > 1 && NF == 7 { n++; if (n == 1) { r0 = $2; g0 = $3; f0 = $4 } r = $2; g = $3; f = $4; if ($2 > rm) rm = $2; if ($3 > gm) gm = $3; if ($4 > fm) fm = $4 }
       END { printf "summary: RSS %s -> %s MB (max %s), goroutines %s -> %s (max %s), open files %s -> %s (max %s)\n", r0, r, rm, g0, g, gm, f0, f, fm }' "$samples"
  echo "ledger verify against the auditor's first checkpoint: $(echo "$verify" | grep -E '^(OK|FAILED)' | head -1)"
} >"$result"
cat "$result"

errors=$(jq -s '[.[] | .errors // {} | to_entries[] | .value] | add // 0' "$data"/load-*.json)
[[ $ok == 1 ]] || { echo "soak: ledger verify failed:"; echo "$verify"; exit 1; }
[[ $errors == 0 ]] || { echo "soak: $errors load requests failed"; exit 1; }
