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
# Date, commit, machine and Go are the load run's (its header in load.txt),
# so re-running the report alone never restamps older figures.
run = {"date": f"{datetime.datetime.now(datetime.UTC):%Y-%m-%dT%H:%MZ}", "commit": os.environ["COMMIT"],
       "machine": os.environ["MACHINE"], "go": os.environ["GOVERSION"]}
try:
    for line in open(f"{res}/load.txt"):
        m = re.match(r"# (date|commit|machine|go):\s+(.*)", line)
        if m:
            run[m.group(1)] = m.group(2).strip()
except OSError:
    pass
w(f"- **Date:** {run['date']}")
w(f"- **Commit:** {run['commit']} (the load run's; each file in bench/results/ names its own)")
w(f"- **Machine:** {run['machine']}")
w(f"- **Go:** {run['go']}")
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
# The 10M run is slow (≈ 40 min, ≈ 35 GB of database), so make bench does not
# run it; `make seed-ledger N=10000000 BENCH=1` does, and its output, with
# the header bench/run.sh writes, is kept in ledger-10m.txt.
try:
    lines = open(f"{res}/ledger-10m.txt").read().splitlines()
    head = {m.group(1): m.group(2) for m in (re.match(r"# (date|commit):\s+(.*)", l) for l in lines) if m}
    w("## The ledger at 10M entries\n")
    w(f"The same run over ten million entries, to check that indexes and plans hold (`make seed-ledger "
      f"N=10000000 BENCH=1`, not part of `make bench`; run {head.get('date', '?')} at {head.get('commit', '?')}):\n")
    w("```")
    w("\n".join(l for l in lines if not l.startswith("#")).strip())
    w("```\n")
except OSError:
    pass
# make soak writes soak.txt (a 30-minute run by default; SOAK_DURATION
# shortens it, and its header says how long it ran).
try:
    soak = open(f"{res}/soak.txt").read().splitlines()
    w("## Soak run\n")
    w("`make soak` (not part of `make test` or `make bench`) drives `signer dev` with mixed traffic "
      "(1 KB and 5 MB archives, digest statements, SignBatch, an auditor listing entries and saving "
      "checkpoints) for `SOAK_DURATION` (default 30 minutes), samples the signer's RSS, goroutines, "
      "open files and database pool connections, and ends with `signerctl ledger verify` against the "
      "auditor's first checkpoint; it fails if any request failed or verify does not pass. A short run (the header gives `SOAK_DURATION`) shows the target works; a full 30-minute run is what shows RSS, goroutines, open files and connections staying flat. `bench/results/soak.txt`, from the run its first line describes:\n")
    w("```")
    w("\n".join(soak).strip())
    w("```\n")
except OSError:
    pass
w("## Where the time goes (CPU profile of the signer, 1 KB archives, 32 callers)\n")
w("`bench/results/cpu-archive-1k-c32.pprof` (10 s, `go tool pprof -top`):\n")
w("```")
w(profile)
w("```\n")

open("docs/BENCHMARKS.md", "w").write("\n".join(out) + "\n")
PY
cat >>docs/BENCHMARKS.md <<'MD'
## Against the targets, and what limits each figure

The load generator, the signer and PostgreSQL share the machine's 2 cores, and the machine is
CPU-bound during the small-archive runs (no idle time), so every service figure is a lower bound
for a deployment with the database on its own host. Figures move by about ±10 % between runs (on
2026-12-04, earlier runs of the previous commits gave 2,523–2,723 sig/s with p99 23.7–26.2 ms for
1 KB at 32 callers, and 181–210 MB/s for 100 MB archives). Met: peak RSS for a 1 GiB archive,
every ledger query p99 at 1M entries, and verify re-checking every signature (≈ 27,000/s against
25,000/s); the 1 KB p99 is on the 25 ms line (under it in this run, over it in some earlier ones).
Not met: the throughput targets, which ask for 3–15× more than 2 shared cores give here.

**1 KB archives (target ≥ 10,000 sig/s at 32 callers, p99 ≤ 25 ms).** About 2,900 sig/s, p99
23.3 ms. Per signature the signer spends ≈ 270 µs of CPU (profile above): signing and
verify-after-sign ≈ 37 % (two passes of pure Ed25519 plus one verification; the verification is
required), gRPC and the kernel ≈ 25 %, the ledger's Go side ≈ 1 %; PostgreSQL spends about as much
again per signature, and the load generator ≈ 80 µs. At ≈ 650 µs of CPU per signature, 2 cores
cap the whole system near 3,000/s, which is what we see. Changes made in this round, measured one
at a time on this machine: archives up to 64 KiB are spooled in memory (no temp file
create/unlink), small requests no longer look up their idempotency key before signing (the ledger's
insert resolves a replay), the log's per-entry savepoints are gone from the common path, and the
signature rows of a commit go in with one multi-row `INSERT … SELECT FROM unnest(…)` instead of a
statement per row (`translog.Group`). Together: 2,201 → ≈ 2,900 sig/s here, and the ledger's
append rate 2,632 → 7,729 entries/s. What would remove more, largest first:

1. **The database on its own cores.** With PostgreSQL elsewhere, the signer's ≈ 270 µs per
   signature alone allows ≈ 7,000/s on 2 cores; more cores scale it, since requests are
   independent until the ledger's commit.
2. **Fewer indexes to maintain per row.** `signatures` has 12 (one per auditor filter, each ending
   in id, plus the keys). Index maintenance is now most of PostgreSQL's work per entry; a
   deployment that never filters by some column can drop its index.
3. **Cheaper crypto for small in-memory archives**: crypto/ed25519 signs 1 KiB in 20 µs and
   verifies in 43 µs against the streaming code's 24 µs and 49 µs (`eddsa.txt`); archives held in
   memory could use it.

**Against a peer.** The issue gives a well-known secrets server's Ed25519 signing endpoint at about
5,000 signatures/s with its file audit log on, on this same machine. We did not run that server
here: it is not among the packages this machine can install, so the comparison rests on the
issue's figure. At ≈ 2,900 sig/s we are below it. Per request we do more durable work than a
file audit log: a PostgreSQL transaction that commits the ledger row and its Merkle leaf (fsync on,
shared in group commits) before the caller sees the signature, two streaming passes of pure
Ed25519 over the archive, and a verification of every signature. The digest path (SignDigest,
no archive passes) gives ≈ 2,400/s under the same ledger, so the ledger commit and gRPC dominate,
not the archive. The items above, the database on its own cores first, are what would close the
gap; we have not measured them here.

**SignBatch (target ≥ 40,000 sig/s).** ≈ 3,700 sig/s (was 2,400–2,600 before the one-INSERT
commit). A batch runs each item through the single-item path (validation, idempotency, sign,
verify-after-sign, ledger) with 16 items in flight; it saves gRPC overhead, not ledger or crypto
work. Sign + verify cost ≈ 70 µs per signature on one core, so 40,000/s needs ≈ 3 cores for the
cryptography alone with verify-after-sign on — not reachable on 2 shared cores.

**Large archives (target ≥ 250 MB/s for 100 MB).** ≈ 216 MB/s (181–210 in earlier runs). Every
byte is hashed with SHA-512 five times and SHA-256 once: on upload (the recorded digests), the
nonce pass of pure Ed25519 and its check that the file did not change, the challenge pass, and
verify-after-sign. That is ≈ 0.75 s of CPU per 100 MB in the signer, plus gRPC and spool I/O, with
the client on the same cores. What would remove it: compute the nonce hash during upload (the key
is known before the first chunk; needs a streaming-nonce capability in the key-backend contract),
which removes one full pass and the re-read; and more cores, since different requests' passes run
in parallel.

**Peak RSS while signing a 1 GiB archive (target ≤ 128 MiB).** Met: the archive is spooled to
an unlinked file and signed in streaming passes, so memory stays flat with size (`memory.txt`:
52–71 MiB for 16 MiB, 256 MiB and 1 GiB).

**The ledger (targets: append ≥ 20,000/s; query p99 ≤ 20 ms at 1M; verify ≥ 100,000/s, and
≥ 25,000/s re-checking every signature).** Queries are met (every filter p99 ≤ 5 ms; the time
range fell from 316 ms to under 5 ms in this round once it was planned with its values and
bounded through the `(signed_at, id)` index). Verify re-checking signatures is met: ≈ 27,000/s
(was 22,700). Append, ≈ 7,700/s (was ≈ 2,600 at the start of the round, then 4,000 without the
savepoints), is short of 20,000: with one INSERT per commit the Go side is ≈ 40 % of one core and
PostgreSQL uses the rest of the machine, mostly maintaining the 12 indexes of `signatures` and the
leaves and hashes of the log, with an fsync per commit; 1,024 writers instead of 256 give ≈ 9,800/s
(bigger batches; measured over 100k entries). Verify without the signature checks, ≈ 69,000/s (was 34,000), is short of
100,000: it now matches each row to its leaf by encoding the row (decoding the JSON payload was
≈ 45 % of the time; a row that does not match still gets the full decode and a finding that names
the field), and reads rows and log pages ahead in background goroutines while the checks run, so
the rest is PostgreSQL reading 1M rows on the same 2 cores plus hashing. With the database on
its own host both would rise; we have not measured that here.
At 10M entries (section above) the plans hold: every filter p99 ≤ 8 ms, verify ≈ 68,700/s and
≈ 28,200/s re-checking signatures; append averages ≈ 6,200/s as the indexes outgrow memory.

## Work per signature (instruction counts, measured 2026-12-06 on a loaded machine)

Not written by a load run: measured by hand for issue 13 while the machine was shared (load
average 22–27 on its 2 cores), so no throughput is given, only work that does not depend on the
load: instructions executed by the Go process (`valgrind --tool=cachegrind --cache-sim=no`, with
`GODEBUG=asyncpreemptoff=1`; PostgreSQL's own work is not counted), taken as the difference of
two runs with `-benchtime=N1x` and `N2x` so that start-up cancels out, and ledger commits counted
by `translog.Options.OnCommit`. Runs repeated on other days vary by about ±10 % for the single
signatures (the Go scheduler spins while it waits for PostgreSQL), less for batches.

| what (`go test -bench`, in-process gRPC, real PostgreSQL 15, fsync on) | instructions per signature | ledger commits |
|---|---|---|
| `SignBatch`, 100 digest items, batch path (`BenchmarkSignBatch/batch`, 11x vs 31x) | 1.02 M; 0.94 M with the byte-loop grammar | 1 per batch |
| `SignBatch`, 100 digest items, item by item as before (`BenchmarkSignBatch/itemwise`) | 1.69 M | 7.7 per batch |
| Ed25519 check of 100 signatures: `eddsa.VerifyBatch` (`internal/eddsa` `BenchmarkVerifyBatch`) | 0.121 M | |
| the same, `crypto/ed25519.Verify` one by one (`BenchmarkVerifyOne`) | 0.624 M | |
| `SignDigest`, one per call (`BenchmarkSignSmall/digest`, 101x vs 401x) | 2.07–2.4 M; 1.99 M with the byte-loop grammar | |
| `SignArchive`, 1 KiB (`BenchmarkSignSmall/archive-1KiB`) | 1.83–2.0 M | |

A digest signature costs ≈ 0.23 M instructions more than a 1 KiB archive in the Go process
(per-function difference of the two runs): the statement grammar's regular expressions, run when
the statement is built and again when the signature file is checked (≈ 80 k; now byte loops,
`internal/statement/grammar_match.go`, which took 8 % off a batch signature), the larger leaf
payload (JSON-escaped statement, hashed and sent: ≈ 50 k), and the garbage collection of both.
Signing a small in-memory archive whole instead of streaming it, and checking the key's parsed
certificate instead of parsing its PEM per `SignDigest`, made no difference measurable at 1 KiB
(within the ±10 %). Command lines:

```
go test -c -o server.test ./internal/server/
SIGNER_TEST_DATABASE_URL=postgres://… GODEBUG=asyncpreemptoff=1 valgrind --tool=cachegrind --cache-sim=no \
  ./server.test -test.run='^$' -test.bench='^BenchmarkSignBatch/batch$' -test.benchtime=31x
go test -c -o eddsa.test ./internal/eddsa/ && valgrind --tool=callgrind ./eddsa.test -test.run='^$' -test.bench='^BenchmarkVerifyBatch$' -test.benchtime=11x
```

## Component benchmarks

`make bench` also writes `bench/results/eddsa.txt` (streaming pure Ed25519 from a file vs.
crypto/ed25519 in memory), `bench/results/kms.txt` (signatures/s per key backend, 1 KiB, with
verify-after-sign) and `bench/results/memory.txt` (peak RSS for 16 MiB, 256 MiB and 1 GiB
archives), each with the machine and command line in its header. Per backend on this machine:
software ≈ 32,000/s, KMS-sealed ≈ 49,900/s (its key is decrypted once and rechecked every 30 s;
≈ 4,900/s when every signature goes back to KMS), AWS KMS through the repo's wire-protocol
emulator ≈ 5,000/s, SoftHSM2 ≈ 5,200/s serial and ≈ 6,600/s with two callers. The CPU profile file
itself (`cpu-archive-1k-c32.pprof`) is written next to them and not committed.
MD
echo "wrote docs/BENCHMARKS.md"
