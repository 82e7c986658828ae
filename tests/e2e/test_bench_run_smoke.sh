#!/usr/bin/env bash
# bench/run --smoke: the benchmark suite runs end to end in seconds (its own
# secpold daemons, Redis when installed, every step), and writes what it
# promises: each step's JSON report, summary.json with the targets, report.md
# with its tables, and the PNG plots when gnuplot is installed. Behaviour
# only: no number is judged (speed is measured by bench/run, never by tests).
source "$(dirname "$0")/lib.sh"
: "${SECPOL_BUILD_DIR:?build tree holding secpol-bench}"
: "${SECPOL_SOURCE_DIR:?the source tree (bench/run)}"
tmp=$(mktemp -d /tmp/secpol-bench-run-XXXXXX)
trap 'rm -rf "$tmp" "$secpol_scratch"' EXIT

fail() {
  echo "FAIL - bench/run --smoke: $1"
  [ -s "$tmp/run.err" ] && { echo "--- stderr"; tail -30 "$tmp/run.err"; }
  echo "0 passed, 1 failed"
  exit 1
}

code=0
# --no-build: the suite's own tree is never reconfigured or relinked while
# other tests exec its secpold (a relink there made one exec fail with 127)
timeout 110 "$SECPOL_SOURCE_DIR/bench/run" --smoke --no-build --build-dir "$SECPOL_BUILD_DIR" \
  --out "$tmp/out" >"$tmp/run.out" 2>"$tmp/run.err" || code=$?
[ "$code" -eq 0 ] || fail "exit $code, expected 0"
for f in machine.json conn-1.json conn-2.json maxbatch1.json open-get_policy-50.json burst.json \
  size-small.json size-large.json summary.json report.md; do
  [ -s "$tmp/out/$f" ] || fail "$f was not written"
done
python3 -m json.tool "$tmp/out/summary.json" >/dev/null || fail "summary.json does not parse"
for h in "## Throughput by connections" "## Durable writes at 2 connections" \
  "## Latency under open-loop load" "## GetPolicy during a burst" "## Flat with size" \
  "## login_flow by method" "## Targets (issue 13)"; do
  grep -qF "$h" "$tmp/out/report.md" || fail "report.md has no section $h"
done
grep -Eq '^\| record_failure \| [0-9,]+ \| [0-9,]+ \|$' "$tmp/out/report.md" ||
  fail "report.md has no record_failure row with calls/s at 1 and 2 connections"
grep -q '"met": ' "$tmp/out/summary.json" || fail "summary.json states no target"
# the open-loop runs carry the time inside secpold, from its /metrics page:
# every call the client counted was counted by the daemon too
python3 - "$tmp/out/open-get_policy-50.json" <<'EOF2' || fail "open-get_policy-50.json: daemon_latency is missing or wrong"
import json, sys
report = json.load(open(sys.argv[1]))
d = report["daemon_latency"]
calls = sum(s["calls_total"] for s in report["scenarios"] if s["name"] == "get_policy")
assert d["method"] == "/secpol.v1.PolicyService/GetPolicy", d["method"]
assert d["replies"] >= calls > 0, (d["replies"], calls)
assert d["buckets"][-1]["le_us"] is None and d["buckets"][-1]["replies"] == d["replies"]
assert 0 <= d["share_within_1ms"] <= 1
EOF2
grep -q '^| get_policy (50% of max) |.* | [0-9,]* | [0-9.]* % |$' "$tmp/out/report.md" ||
  fail "report.md's open-loop row has no time inside secpold"
grep -qF 'The ceiling: Health/Check' "$tmp/out/report.md" || fail "report.md states no ceiling"
grep -qF "## Targets (issue 13)" "$tmp/run.out" || fail "report.md was not printed"
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  [ -s "$tmp/out/redis.json" ] || fail "Redis is installed but redis.json was not written"
  grep -q '^| Redis INCR (appendfsync always) |' "$tmp/out/report.md" || fail "no Redis row"
fi
if command -v gnuplot >/dev/null; then
  for p in throughput.png latency.png; do
    [ "$(head -c 4 "$tmp/out/$p" | od -An -c | tr -d ' ')" = '211PNG' ] || fail "$p is not a PNG"
  done
fi
# A bad option is a usage error, before anything starts.
code=0
"$SECPOL_SOURCE_DIR/bench/run" --no-such-option >/dev/null 2>"$tmp/usage.err" || code=$?
[ "$code" -eq 2 ] || fail "an unknown option exited $code, expected 2"

echo "ok   - bench/run --smoke ran every step and wrote its JSON, report.md and plots"
echo "1 passed, 0 failed"
