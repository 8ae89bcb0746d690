#!/usr/bin/env bash
# Issue 13's peer, measured in the same run as the signer: OpenBao Transit
# (`bao server -dev` on loopback, an ed25519 key, the file audit device on)
# beside `signer dev` (durable PostgreSQL), the issue's three workloads,
# alternating peer and signer run by run (and which of the two goes first,
# round by round), both driven by cmd/signerload with the same callers:
#   archive-1k-c32  one 1 KB input per call, 32 callers
#   digest-c32      one 32 B input per call (SignDigest), 32 callers
#   batch-100-c8    100 items of 32 B per call (batch_input, SignBatch), 8 callers
# signerload checks a sample of the peer's signatures against the key's
# public key, so the figures are of real signatures.
#
# PEER_BAO: path to a bao binary, which this script runs and never builds;
#   unset: no peer run (bench/results/peer.txt says so).
# LOAD_SECONDS (default 20): length of each run. PEER_ROUNDS (default 3).
# Writes bench/results/peer-openbao-<workload>-<round>.json and
# peer-signer-<workload>-<round>.json (signerload's report plus target,
# round, command, and for the peer the audit log bytes the run wrote), and
# the table bench/results/peer.txt. Called by bench/run.sh (`make bench`).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
secs=${LOAD_SECONDS:-20}
rounds=${PEER_ROUNDS:-3}
mkdir -p "$out"
rm -f "$out"/peer-openbao-*.json "$out"/peer-signer-*.json
if [[ -z ${PEER_BAO:-} ]]; then
  echo "# peer: not run: set PEER_BAO to a bao binary (issue 13; bench/peer.sh)" | tee "$out/peer.txt"
  exit 0
fi
[[ -x $PEER_BAO ]] || { echo "peer: PEER_BAO=$PEER_BAO is not an executable file" >&2; exit 1; }

data=$(mktemp -d /tmp/signer-peer-XXXXXX)
bin=$data/bin
go build -o "$bin/signer" ./cmd/signer
go build -o "$bin/signerload" ./cmd/signerload

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$data"
}
trap cleanup EXIT

wait_for() { # pid, what, command that succeeds once it is up
  local pid=$1 what=$2; shift 2
  for _ in $(seq 1 240); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "peer: $what exited" >&2; cat "$data"/*.err >&2; return 1; }
    sleep 0.5
  done
  echo "peer: $what did not start" >&2; return 1
}

# The peer. The root token is a throwaway made now; it is passed in the
# environment only (never a flag), and the dev server is told not to store it.
BAO_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
bao_port=$((20000 + RANDOM % 10000)) # and the dev cluster listener on the next port
BAO_ADDR=http://127.0.0.1:$bao_port
export BAO_TOKEN BAO_ADDR
# OpenBao enables audit devices from its configuration only (not the API).
audit=$data/audit.log
cat >"$data/audit.hcl" <<HCL
audit "file" "file" {
  options {
    file_path = "$audit"
  }
}
HCL
BAO_DEV_ROOT_TOKEN_ID=$BAO_TOKEN HOME=$data "$PEER_BAO" server -dev -dev-no-store-token \
  -dev-listen-address "127.0.0.1:$bao_port" -config "$data/audit.hcl" -log-level warn >"$data/bao.out" 2>"$data/bao.err" &
pids+=($!)
wait_for "${pids[-1]}" "bao server -dev" curl -sf "$BAO_ADDR/v1/sys/health"
bao() { HOME=$data "$PEER_BAO" "$@" >/dev/null; }
bao secrets enable transit
bao write -f transit/keys/signerload type=ed25519
HOME=$data "$PEER_BAO" audit list | grep -q '^file/ *file' || { echo "peer: the file audit device is not on" >&2; exit 1; }

# The signer, as bench/load.sh runs it (durable PostgreSQL, verify-after-sign).
grpc_port=$((30000 + RANDOM % 10000)) # and metrics on the next port
"$bin/signer" dev --data-dir "$data/dev" --listen "127.0.0.1:$grpc_port" \
  --metrics-listen "127.0.0.1:$((grpc_port + 1))" --log-level warn >"$data/signer.out" 2>"$data/signer.err" &
pids+=($!)
wait_for "${pids[-1]}" "signer dev" grep -q "listening on\|serving on" "$data/signer.out"

peer_flags=(--target openbao-transit --bao-addr "$BAO_ADDR" --bao-token-env BAO_TOKEN --bao-key signerload)
one() { # target (openbao|signer), workload, round, signerload flags...
  local target=$1 name=$2 round=$3; shift 3
  local file=$out/peer-$target-$name-$round.json flags=(--server "127.0.0.1:$grpc_port")
  [[ $target == openbao ]] && flags=("${peer_flags[@]}")
  echo "peer: $target $name round $round: signerload --duration ${secs}s $*" >&2
  : >"$audit" # the device appends (O_APPEND): this run's bytes only
  "$bin/signerload" "${flags[@]}" --duration "${secs}s" --format json "$@" 2>"$data/load.err" >"$data/load.json" ||
    { cat "$data/load.err" >&2; return 1; }
  local audited=null verified=null
  if [[ $target == openbao ]]; then
    audited=$(stat -c %s "$audit")
    verified=$(sed -n 's/.*verified \([0-9]*\) of.*/\1/p' "$data/load.err")
  fi
  jq --arg target "$target" --argjson round "$round" --argjson audited "$audited" --argjson verified "${verified:-null}" \
    --arg cmd "signerload --duration ${secs}s $*" \
    '. + {target: $target, round: $round, command: $cmd, audit_log_bytes: $audited, verified_signatures: $verified}' \
    "$data/load.json" >"$file"
  jq -c '{target, signatures_per_second, p50_ms, p99_ms, errors}' "$file" >&2
}

workloads=(
  "archive-1k-c32 --mode archive --size 1024 --concurrency 32"
  "digest-c32 --mode digest --concurrency 32"
  "batch-100-c8 --mode batch --batch-size 100 --concurrency 8"
)
# Warm up both (connections, caches, PostgreSQL buffers); not recorded.
"$bin/signerload" "${peer_flags[@]}" --duration 3s --concurrency 8 >/dev/null 2>&1
"$bin/signerload" --server "127.0.0.1:$grpc_port" --duration 3s --concurrency 8 >/dev/null
for round in $(seq 1 "$rounds"); do
  order=(openbao signer)
  (( round % 2 == 0 )) && order=(signer openbao)
  for w in "${workloads[@]}"; do
    read -r -a args <<<"$w"
    for target in "${order[@]}"; do one "$target" "${args[0]}" "$round" "${args[@]:1}"; done
  done
done

bao_version=$("$PEER_BAO" version 2>/dev/null | head -1)
{
  echo "# peer: issue 13 side by side, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores"
  echo "# peer:   $bao_version, \`bao server -dev\` (in-memory storage), transit ed25519 key, file audit device on (no fsync)"
  echo "# signer: \`signer dev\` (durable PostgreSQL), same signerload callers; runs alternate, ${secs} s each, $rounds rounds"
  echo
  OUT=$out python3 - <<'PY'
import glob, json, os
out = os.environ["OUT"]
order = ["archive-1k-c32", "digest-c32", "batch-100-c8"]  # the issue's table
def key(f):
    w, r = os.path.basename(f)[len("peer-openbao-"):-len(".json")].rsplit("-", 1)
    return (order.index(w) if w in order else len(order), w, int(r))
peer_files = sorted(glob.glob(f"{out}/peer-openbao-*.json"), key=key)
print("| workload | round | OpenBao sig/s | p50 / p99 ms | errors | signer dev sig/s | p50 / p99 ms | errors | signer / peer |")
print("|---|---|---|---|---|---|---|---|---|")
for f in peer_files:
    p = json.load(open(f))
    s_file = f.replace("peer-openbao-", "peer-signer-")
    s = json.load(open(s_file)) if os.path.exists(s_file) else None
    w = os.path.basename(f)[len("peer-openbao-"):-len(".json")].rsplit("-", 1)[0]
    errs = lambda r: ", ".join(f"{k} {v}" for k, v in (r.get("errors") or {}).items()) or "none"
    row = [w, str(p["round"]), f"{p['signatures_per_second']:,.0f}", f"{p['p50_ms']:.2f} / {p['p99_ms']:.2f}", errs(p)]
    if s:
        ratio = s["signatures_per_second"] / p["signatures_per_second"] if p["signatures_per_second"] else float("nan")
        row += [f"{s['signatures_per_second']:,.0f}", f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f}", errs(s), f"{ratio:.2f}×"]
    else:
        row += ["not run", "", "", ""]
    print("| " + " | ".join(row) + " |")
print()
for f in peer_files:
    p = json.load(open(f))
    per = p["audit_log_bytes"] / p["requests"] if p["requests"] else 0
    print(f"# {os.path.basename(f)}: {p['verified_signatures']} of {p['signatures']} signatures verified with the key's public key; audit log {p['audit_log_bytes']:,} bytes ({per:,.0f} per call)")
PY
} | tee "$out/peer.txt"
