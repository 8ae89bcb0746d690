#!/usr/bin/env bash
# Mutation testing of the trust-critical packages with gremlins (see
# docs/development.md, "Mutation testing"). One package at a time, one worker:
# each mutant rebuilds and reruns that package's own tests, so this is slow
# and CPU-bound, and it is not part of `make test`.
#
#   scripts/mutate.sh                      every package below
#   scripts/mutate.sh internal/chain ...   only these
#
# For each package it writes mutation/results/<pkg>.json (gremlins' own
# report: every mutant with its position, type and status) and
# mutation/results/<pkg>.txt (the figures, and every mutant that lived, timed
# out or that no test reaches). It exits 1 when a package is below the bar
# (test efficacy 95 %, mutator coverage 90 %) or its run failed.
#
# Environment: GREMLINS (binary), MUTATE_OUT (results folder),
# MUTATE_TIMEOUT_COEFFICIENT (a mutant's test run may take this many times
# as long as the package's plain coverage run; default 10),
# MUTATE_PKG_TIMEOUT (wall-clock cap per package, default 3h),
# MUTATE_COMMIT (the commit to name in the results, when the tree is a
# copy without .git), MUTATE_DRY_RUN=1 (list the mutants and whether a test reaches them, run
# none: one plain test run per package), MUTATE_FILES (a regexp of file base
# names: mutate only those files of the packages named, e.g. to rerun the
# file a change touched), SIGNER_TEST_DATABASE_URL (a PostgreSQL server for
# internal/pgtest; without it the script starts one for the packages that
# need it, see start_pg), MUTATE_GO_LOG (a file: every go command gremlins
# runs, its exit status and the end of its output, to see why mutants die).
set -euo pipefail
# Everything is in main, which bash reads whole before running it: the
# script may be edited (or checked out anew) while a long run goes on.
main() {
cd "$(dirname "$0")/.."

GREMLINS=${GREMLINS:-.bin/gremlins}
OUT=${MUTATE_OUT:-mutation/results}
COEF=${MUTATE_TIMEOUT_COEFFICIENT:-10}
PKG_TIMEOUT=${MUTATE_PKG_TIMEOUT:-3h}
MIN_EFFICACY=95
MIN_COVERAGE=90

# In order: the packages whose tests need no PostgreSQL first.
DEFAULT_PKGS=(
  internal/revocation internal/chain internal/statement internal/eddsa
  internal/kms internal/bundle internal/auth
  internal/ledger internal/translog
  internal/verifypolicy cmd/signerctl
)
pkgs=("$@")
[[ ${#pkgs[@]} -gt 0 ]] || pkgs=("${DEFAULT_PKGS[@]}")

# Files in scope where a package is not wholly trust-critical (a regexp of
# base names; the package's other files are excluded). MUTATE_FILES, when
# set, replaces the scope of every package named (e.g. to rerun the one
# file a change touched).
# - cmd/signerctl: the files that decide whether an archive is trusted,
#   `signerctl verify` and its revocation check; key, ledger and CA
#   administration are out of scope.
# - internal/ledger: what `ledger verify` and verify --ledger-entry trust,
#   the leaf payloads and their decoding, the audit of the SQL rows against
#   the log, and the checks made before recording; listing, pooling,
#   migrations and replication are out. Its tests take 20-60 s a run here,
#   so the whole package (416 mutants) would take most of a day.
# - internal/translog: appending leaves, checkpoints, proofs and their
#   verification; reports, publication and options are out.
scope_of() {
  case $1 in
    cmd/signerctl) echo '^verify[a-z_]*\.go$' ;;
    internal/ledger) echo '^(payload|audit|audit_approvals|archivecheck|keycheck|entry|event|event_decode|revoked|revocation_valid)\.go$' ;;
    internal/translog) echo '^(append|append_all|appendtx|batch|checkpoint|leaf|hashes|frontier|proof|sign|verify)\.go$' ;;
  esac
}

mkdir -p "$OUT"
[[ -x $GREMLINS ]] || { echo "mutate: $GREMLINS missing (make mutate installs it)" >&2; exit 2; }

# start_pg starts scripts/pgserve, which runs one throwaway PostgreSQL
# cluster until its standard input closes (at exit, through the trap), and
# exports its URL for internal/pgtest.
pg_pid=""
start_pg() {
  "$realgo" build -o "$shim/pgserve" ./scripts/pgserve
  mkfifo "$shim/pg.in" "$shim/pg.url"
  "$shim/pgserve" <"$shim/pg.in" >"$shim/pg.url" &
  pg_pid=$!
  exec {pg_in}>"$shim/pg.in"
  local url
  read -r url <"$shim/pg.url" || { echo "mutate: PostgreSQL did not start" >&2; exit 2; }
  export SIGNER_TEST_DATABASE_URL=$url
}
stop_pg() {
  [[ -n $pg_pid ]] || return 0
  exec {pg_in}>&-
  wait "$pg_pid" || echo "mutate: stopping PostgreSQL failed" >&2
}

# Corrections to what gremlins v0.6.0 sees, through a `go` wrapper that
# changes its coverage step (`go test -cover -coverprofile F ./pkg/...`):
# - the coverage run is of the package alone: its sub-packages' files are
#   excluded anyway, and their tests (PostgreSQL, timing) would only slow
#   the run, stretch every mutant's timeout and fail it when one flakes;
# - scripts/coverfix adds the case expressions of switch statements to the
#   profile (Go's cover tool leaves them outside every block, so gremlins
#   calls all of them NOT COVERED and never runs them: gremlins#298).
# Every mutant's own test run goes to the real go unchanged, but for
# skipping the package's slow interoperability tests (below).
shim=$(mktemp -d)
trap 'stop_pg; rm -rf "$shim"' EXIT
realgo=$(command -v go)
module=$("$realgo" list -m)
"$realgo" build -o "$shim/coverfix" ./scripts/coverfix
cat >"$shim/go" <<WRAPPER
#!/usr/bin/env bash
args=("\$@") profile=""
for ((i = 0; i < \${#args[@]} - 1; i++)); do
  [[ \${args[i]} == -coverprofile ]] && profile=\${args[i+1]}
done
# gremlins names a mutant's package by walking up from its folder to one
# whose name is the package name; a main package (cmd/signerctl) never
# finds one and gets the module root, which has no Go files: every mutant
# would "die" of that. Its test runs start in the package's folder.
if [[ \${args[0]} == test && \${args[-1]} == "$module" ]]; then
  args[-1]=.
fi
if [[ \${args[0]} == test && -n \${MUTATE_GO_SKIP:-} ]]; then
  args=(test -skip "\$MUTATE_GO_SKIP" "\${args[@]:1}")
fi
if [[ \${args[0]} == test && -n \$profile ]]; then
  args[-1]=\${args[-1]%/...}
  "$realgo" "\${args[@]}" || exit
  exec "$shim/coverfix" "\$profile"
fi
[[ \${args[0]} == test ]] || exec "$realgo" "\${args[@]}"
# A mutant that does not compile (+ to - on strings) fails go test with
# status 1, which gremlins counts as KILLED; status 2 makes it NOT VIABLE.
out=\$("$realgo" "\${args[@]}" 2>&1); rc=\$?
[[ \$rc -eq 1 && \$out == *"[build failed]"* ]] && rc=2
if [[ -n \${MUTATE_GO_LOG:-} ]]; then
  { echo "\$(date +%T) \$PWD: go \${args[*]} -> \$rc"; tail -5 <<<"\$out"; } >>"\$MUTATE_GO_LOG"
fi
printf '%s\n' "\$out"
exit \$rc
WRAPPER
chmod +x "$shim/go"
export PATH="$shim:$PATH"

# Tests that need PostgreSQL or SoftHSM2 skip without them, and a skipped
# test kills no mutant: CI=true makes them fail instead, so a machine without
# them stops the run at the coverage step rather than reporting survivors.
export CI=true

status=0
for pkg in "${pkgs[@]}"; do
  pkg=${pkg#./}; pkg=${pkg%/}
  [[ -d $pkg ]] || { echo "mutate: no package $pkg" >&2; status=1; continue; }
  name=${pkg//\//-}
  # gremlins walks the folder recursively; sub-packages are separate
  # packages with their own scope, so only the package's own files count.
  excludes=(-E '/')
  scope=${MUTATE_FILES:-$(scope_of "$pkg")}
  if [[ -n $scope ]]; then
    for f in "$pkg"/*.go; do
      base=${f##*/}
      [[ $base == *_test.go || $base =~ $scope ]] && continue
      excludes+=(-E "^${base//./\\.}\$")
    done
  fi
  # Tests that take seconds per run and check interoperability (a JVM's
  # PKIX validation of our chains) rather than a decision of ours: run by
  # `make test`, skipped here, where they would run once per mutant.
  # The replication and outage tests of internal/ledger and
  # internal/translog (a standby, a server of their own that they stop:
  # half of ledger's run) check availability, not what the log says.
  case $pkg in
    internal/chain) export MUTATE_GO_SKIP='^TestJavaPKIXValidatesChain$' ;;
    internal/ledger) export MUTATE_GO_SKIP='^(TestReplicationProblems|TestStoppedServerIsUnavailable|TestTerminatedSessionsAreUnavailable)$' ;;
    internal/translog) export MUTATE_GO_SKIP='^TestStoppedDatabaseIsUnavailable$' ;;
    *) unset MUTATE_GO_SKIP ;;
  esac
  # A package on internal/pgtest gets its databases from one server for the
  # whole run (started here once, unless $SIGNER_TEST_DATABASE_URL names
  # one) instead of starting a cluster in every mutant's test run.
  if [[ -z ${SIGNER_TEST_DATABASE_URL:-} ]] && grep -qs 'pgtest\.Main' "$pkg"/*_test.go; then
    start_pg
  fi
  echo "mutate: $pkg (log: $OUT/$name.log)"
  start=$(date +%s)
  commit=${MUTATE_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
  [[ -z $(git status --porcelain -- "$pkg" 2>/dev/null) ]] || commit="$commit+uncommitted"
  rc=0
  dry=(); [[ ${MUTATE_DRY_RUN:-} == 1 ]] && dry=(--dry-run)
  timeout "$PKG_TIMEOUT" "$GREMLINS" unleash "${dry[@]}" --workers 1 --timeout-coefficient "$COEF" \
    "${excludes[@]}" -o "$OUT/$name.json" "./$pkg" >"$OUT/$name.log" 2>&1 || rc=$?
  secs=$(( $(date +%s) - start ))
  if [[ $rc -ne 0 || ! -s $OUT/$name.json ]]; then
    echo "mutate: $pkg: gremlins failed (exit $rc after ${secs}s); see $OUT/$name.log" >&2
    status=1
    continue
  fi
  python3 - "$OUT/$name.json" "$pkg" "$secs" "$commit" "$MIN_EFFICACY" "$MIN_COVERAGE" \
    >"$OUT/$name.txt" <<'EOF' || status=1
import collections, json, sys
path, pkg, secs, commit, min_eff, min_cov = sys.argv[1:]
rep = json.load(open(path))
count = collections.Counter()
notable = []
for f in rep["files"]:
    for m in f["mutations"]:
        count[m["status"]] += 1
        if m["status"] in ("LIVED", "NOT COVERED", "TIMED OUT"):
            notable.append((f["file_name"], m["line"], m["column"], m["status"], m["type"]))
killed, lived, uncovered = count["KILLED"], count["LIVED"], count["NOT COVERED"]
# The same formulas as gremlins: efficacy over the mutants a test reached,
# coverage over all mutants but those that do not compile or timed out.
runnable = count["RUNNABLE"]  # a dry run's covered mutants
reached = killed + lived + runnable
eff = 100.0 * killed / (killed + lived) if killed + lived else 0.0
cov = 100.0 * reached / (reached + uncovered) if reached + uncovered else 0.0
ok = eff >= float(min_eff) and cov >= float(min_cov) and not runnable
print(f"package:           {pkg}")
print(f"commit:            {commit}")
print(f"seconds:           {secs}")
print(f"killed:            {killed}")
print(f"lived:             {lived}")
print(f"not covered:       {uncovered}")
if runnable:
    print(f"runnable (dry run): {runnable}")
print(f"timed out:         {count['TIMED OUT']}")
print(f"not viable:        {count['NOT VIABLE']}")
print(f"test efficacy:     {eff:.2f} %")
print(f"mutator coverage:  {cov:.2f} %")
print(f"bar ({min_eff} % / {min_cov} %): {'met' if ok else 'NOT met'}")
for file, line, col, status, typ in sorted(notable):
    print(f"{status:<12} {typ:<22} {pkg}/{file}:{line}:{col}")
sys.exit(0 if ok else 1)
EOF
  sed -n '1,11p' "$OUT/$name.txt"
done
exit $status
}

main "$@"
exit
