#!/usr/bin/env bash
# Writes docs/BENCHMARKS.md from bench/results/ (load-*.json from
# bench/load.sh, memory.txt from the memory benchmark, the CPU profile
# summary). Called by bench/run.sh after the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet -- . ':(exclude)bench/results' ':(exclude)docs/BENCHMARKS.md' 2>/dev/null || echo '+dirty')"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
COMMIT="$commit" MACHINE="$machine" GOVERSION="$(go version)" python3 - <<'PY'
import json, os, re, glob, datetime

res = "bench/results"
def load(name):
    try:
        return json.load(open(f"{res}/load-{name}.json"))
    except (OSError, ValueError):
        return None

def fmt(v, nd=0):
    return "—" if v is None else f"{v:,.{nd}f}"

def row(label, name, target, unit):
    r = load(name)
    if r is None:
        return f"| {label} | not run | | | | {target} |"
    errs = ", ".join(f"{k} {v}" for k, v in (r.get("errors") or {}).items()) or "none"
    main = fmt(r["mb_per_second"], 1) + " MB/s" if unit == "MB/s" else fmt(r["signatures_per_second"]) + " sig/s"
    return f"| {label} | {main} | {fmt(r['p50_ms'], 2)} ms | {fmt(r['p99_ms'], 2)} ms | {errs} | {target} |"

peak = None
try:
    for line in open(f"{res}/memory.txt"):
        m = re.search(r"BenchmarkArchiveMemory/1024MiB\S*\s+\d+\s+\d+ ns/op\s+([\d.]+) MB/s\s+([\d.]+) peakRSS-MiB", line)
        if m:
            peak = (float(m.group(2)), float(m.group(1)))
except OSError:
    pass

cmds = [load(n)["command"] for n in ["archive-1k-c8", "archive-1k-c32", "archive-1k-c64", "digest-c32", "archive-5m-c4", "archive-100m-c2", "batch-500-c4"] if load(n)]
try:
    profile = open(f"{res}/cpu-archive-1k-c32.txt").read().strip()
except OSError:
    profile = "(no profile)"

out = []
w = out.append
w("# Benchmarks\n")
w("Written by `make bench` (bench/run.sh → bench/load.sh → bench/report.sh); edit those, not this file.\n")
w(f"- **Date:** {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
w(f"- **Commit:** {os.environ['COMMIT']}")
w(f"- **Machine:** {os.environ['MACHINE']}")
w(f"- **Go:** {os.environ['GOVERSION']}")
w("- **Service:** `signer dev` — software key (`softkms`), verify-after-sign on, the ledger on a local")
w("  PostgreSQL 15 with the **durable** settings (fsync, synchronous_commit, full_page_writes on),")
w("  32 pooled connections (`--db-max-conns`); load generator, signer and database share the 2 cores.")
w("- **Load:** `cmd/signerload` over loopback gRPC, 4 connections, every request a new ledger entry")
w("  (fresh idempotency key). Each figure is one run; p50/p99 are per request (per batch for SignBatch).\n")
w("## Service under load\n")
w("| workload | throughput | p50 | p99 | errors | target |")
w("|---|---|---|---|---|---|")
w(row("1 KB archives, 8 callers", "archive-1k-c8", "", "sig"))
w(row("1 KB archives, 32 callers", "archive-1k-c32", "≥ 10,000 sig/s, p99 ≤ 25 ms", "sig"))
w(row("1 KB archives, 64 callers", "archive-1k-c64", "", "sig"))
w(row("digest statements (SignDigest), 32 callers", "digest-c32", "", "sig"))
w(row("5 MB archives, 4 callers", "archive-5m-c4", "", "MB/s"))
w(row("100 MB archives, 2 callers", "archive-100m-c2", "≥ 250 MB/s", "MB/s"))
w(row("SignBatch, 500 digest items, 4 callers", "batch-500-c4", "≥ 40,000 sig/s", "sig"))
if peak:
    w(f"| 1 GiB archive, peak RSS of the signer | {peak[0]:.0f} MiB ({peak[1]:.0f} MB/s end to end) | | | | ≤ 128 MiB |")
else:
    w("| 1 GiB archive, peak RSS of the signer | not run | | | | ≤ 128 MiB |")
w("\nCommand lines (server flags: `signer dev --metrics-listen … --pprof --log-level warn`):\n")
w("```")
w("\n".join(cmds) if cmds else "(no load runs)")
w("go test -run '^$' -bench BenchmarkArchiveMemory -benchtime 1x -timeout 30m ./integration/   # peak RSS")
w("```\n")
try:
    ledger = [l.rstrip() for l in open(f"{res}/ledger.txt") if not l.startswith("#")]
except OSError:
    ledger = ["(not run)"]
w("## The ledger at 1M entries\n")
w("`make seed-ledger BENCH=1` (`go run ./cmd/ledgerseed -n 1000000 -bench`): one million signature entries")
w("appended through the real write path (group commit, 256 concurrent writers, durable PostgreSQL), then")
w("the auditor queries (first page of 100 entries per filter, planned with the actual values) and")
w("`ledger verify`'s checks over every entry, with and without re-checking each Ed25519 signature.\n")
w("```")
w("\n".join(ledger).strip())
w("```\n")
w("## Where the time goes (CPU profile of the signer, 1 KB archives, 32 callers)\n")
w("`bench/results/cpu-archive-1k-c32.pprof` (10 s, `go tool pprof -top`):\n")
w("```")
w(profile)
w("```\n")

open("docs/BENCHMARKS.md", "w").write("\n".join(out) + "\n")
PY
cat >>docs/BENCHMARKS.md <<'MD'
## Against the targets, and what limits each figure

The figures above were measured on a 2-core machine that also ran the load generator and
PostgreSQL — and, during these runs, other engineers' test suites (0.3–0.6 of a core); the
machine had no idle CPU during the 1 KB runs. Treat them as lower bounds. None of the
throughput targets is met on this machine; the peak-RSS target is.

**1 KB archives (target ≥ 10,000 sig/s at 32 callers, p99 ≤ 25 ms).** Throughput is flat from
8 to 64 callers at ≈ 2,000–2,400 sig/s: the machine is CPU-bound, not waiting. The signer itself
uses ≈ 300–370 µs of CPU per request (`go tool pprof -top -cum` on the profile): creating and
unlinking the spool file ≈ 26 % (`newSpool`: `openat` in a directory shared by all concurrent
requests), verify-after-sign ≈ 13 % (≈ 45 µs: one Ed25519 verification), the idempotency
pre-check SELECT ≈ 11 %, the ledger INSERT ≈ 8 %, signing ≈ 7 %; PostgreSQL spends about as
much again per durable one-row commit, and the load generator ≈ 100 µs. At ≈ 700 µs of CPU per
signature, 2 cores give ≈ 2,800/s at best. The pool size was the first bottleneck found: pgx
defaults to max(4, CPUs) = 4 connections, which capped the service at ≈ 1,000 sig/s;
`signer dev` now opens 32 (`--db-max-conns`), which doubled throughput. What would remove the
rest, largest first:

1. **Small archives in memory**: archives up to 64 KiB need no spool file. Measured A/B on this
   machine (same build otherwise, 1 KB, 32 callers, 15 s, alternating runs): 1,776 / 1,712 sig/s
   with the file, 2,264 / 2,224 sig/s in memory (+28 %). The change is confined to
   `internal/server/spool.go` (a memory buffer that moves to the unlinked temp file past 64 KiB;
   memory bounded by 64 KiB × the in-flight limit) and passes the server tests; it is not applied
   here because that file belongs to another change in flight.
2. **Group commit in the ledger**: one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING`
   per transaction for all Records queued in the last ~1 ms (a `ledger.Store.RecordBatch` plus a
   small queue in `Record`). Every caller still gets its answer only after its row commits, but
   PostgreSQL's per-transaction CPU and the WAL flushes are shared by the whole batch. This is
   the change that matters for both the 10,000/s and the 40,000/s targets.
3. **No pre-check SELECT for fresh requests**: `Record` already resolves a reused idempotency
   key (`ON CONFLICT`), so the lookup before signing only saves work on replays. Doing it only
   when `Record` reports a conflict saves one round trip per signature (a replay then costs one
   discarded signature).
4. Verify-after-sign (required) is the largest crypto cost for small messages. For SignBatch a
   batch verification (random linear combination, one multi-scalar multiplication) would halve
   it; that is new cryptographic code and needs review before use.

**SignBatch (target ≥ 40,000 sig/s).** A batch runs each item through the single-item path
(validation, idempotency, sign, verify-after-sign, its own ledger commit) with 16 items in flight
per batch; it saves gRPC overhead, not ledger or crypto work, so it lands just above SignDigest.
Group commit (2.) is what a batch needs: one transaction per batch. Even then sign + verify cost
≈ 86 µs per signature on one core, so 40,000/s needs ≈ 3.5 cores for the cryptography alone
with verify-after-sign on — not reachable on 2 cores.

**Large archives (target ≥ 250 MB/s for 100 MB).** Every byte is hashed five times with SHA-512
(≈ 0.76 GB/s per core) and once with SHA-256: on upload (the recorded SHA-256/512), the nonce
pass of pure Ed25519 and its check pass (which detects a file changing between passes), the
challenge pass, and the verify-after-sign pass. That is ≈ 0.75 s of CPU per 100 MB in the
signer, plus gRPC, protobuf and spool I/O; with the client on the same 2 cores, ≈ 170 MB/s is
the ceiling here. What would remove it: compute the nonce hash while the archive is uploaded
(the software key is known before the first chunk; needs a streaming-nonce capability in the key
backend contract), which removes one full pass and the re-read; and more cores — the passes of
different requests run in parallel.

**Peak RSS while signing a 1 GiB archive (target ≤ 128 MiB).** Met: the archive is spooled to
an unlinked file and signed in streaming passes, so memory stays flat with size.

## Component benchmarks

`make bench` also writes `bench/results/eddsa.txt` (streaming pure Ed25519 from a file vs.
crypto/ed25519 in memory), `bench/results/kms.txt` (signatures/s per key backend, 1 KiB, with
verify-after-sign: software ≈ 30,900/s, KMS-sealed ≈ 40,800/s, AWS KMS wire emulator ≈ 5,400/s,
SoftHSM2 ≈ 3,100–4,800/s) and `bench/results/memory.txt` (peak RSS for 16 MiB, 256 MiB and
1 GiB archives), each with the machine and command line in its header.
MD
echo "wrote docs/BENCHMARKS.md"
