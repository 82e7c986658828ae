#!/usr/bin/env bash
# The benchmark runner works: secpol-bench, against a real secpold for 0.5 s
# per scenario after a 1 s warm-up (long enough that even a sanitizer build on
# a busy machine completes calls inside the window), prepares its data, runs every scenario with every reply OK,
# prints one report line per scenario and a JSON report, and exits 0; with no
# secpold to talk to it exits 1. Behaviour only: no timing is asserted (speed
# is measured by bench/run, as ratios, never checked by tests).
source "$(dirname "$0")/lib.sh"
: "${SECPOL_BUILD_DIR:?build tree holding secpol-bench}"
bench=$SECPOL_BUILD_DIR/secpol-bench

fail() {
  echo "FAIL - secpol-bench smoke: $1"
  for f in bench.out bench.err secpold.log secpold2.log echo.log; do
    [ -s "$tmp/$f" ] && { echo "--- $f"; tail -30 "$tmp/$f"; }
  done
  echo "0 passed, 1 failed"
  exit 1
}

[ -x "$bench" ] || fail "$bench is missing (it is built with the default target)"

secpol_start secpol-bench-smoke

scenarios=(health get_policy render_headers check_upload update_policy update_policy_d1
  validate_session issue_consume_token check_lockout record_failure issue_verify_email_otp verify_totp)
code=0
timeout 90 "$bench" --endpoint "$endpoint" --seconds 0.5 --warmup 1 --clients 2 --depth 16 \
  --workspaces 64 --json-file "$tmp/report.json" >"$tmp/bench.out" 2>"$tmp/bench.err" || code=$?
[ "$code" -eq 0 ] || fail "exit $code, expected 0"
for s in "${scenarios[@]}"; do
  # name, lane, clients, depth, calls (> 0), calls/s, spread, p50, p99, errors (0);
  # 0 calls in the window only with the warning that the machine stalled
  # through it (every reply still checked: errors stay 0)
  calls='[1-9][0-9]*'
  grep -q "^WARNING for $s: no call completed within" "$tmp/bench.out" && calls='[0-9]+'
  grep -Eq "^$s +(READ|WRITE) +2 +[0-9]+ +$calls +[0-9]+ +- +[0-9.]+ +[0-9.]+ +0 " \
    "$tmp/bench.out" || fail "no report line for $s with calls and 0 errors"
  grep -q "\"name\": \"$s\"" "$tmp/report.json" || fail "$s missing from the JSON report"
done
# The login flow: every method of it answered and checked, latency by method.
calls='[1-9][0-9]*'
grep -q "^WARNING for login_flow: no call completed within" "$tmp/bench.out" && calls='[0-9]+'
grep -Eq "^login_flow +MIXED +2 +[0-9]+ +$calls +[0-9]+ +- +[0-9.]+ +[0-9.]+ +0 " \
  "$tmp/bench.out" || fail "no report line for login_flow with calls and 0 errors"
for m in LockoutService/CheckLockout LockoutService/RecordSuccess SessionService/CreateSession \
  SessionService/ValidateSession; do
  grep -Eq "^  /secpol\.v1\.$m +[1-9][0-9]* " "$tmp/bench.out" || fail "login_flow: no line for $m"
done
grep -Eq '^health +READ +2 +16 .* 1\.000 +1\.00 +1\.00$' "$tmp/bench.out" ||
  fail "the baseline's ratios against itself are not 1"
grep -q '^group commit: depth 16 writes' "$tmp/bench.out" || fail "no group commit line"
grep -q '^  "errors": 0$' "$tmp/report.json" || fail "the JSON report does not say 0 errors"
if command -v python3 >/dev/null; then
  python3 -m json.tool "$tmp/report.json" >/dev/null || fail "the JSON report does not parse"
fi

# Open loop with a mix: calls at fixed times, the offered rate in the report,
# latency by method; a weight naming no scenario is a usage error.
code=0
timeout 60 "$bench" --endpoint "$endpoint" --seconds 0.5 --warmup 0.5 --rate 400 \
  --mix GetPolicy=3,ValidateSession=2,record_failure=1,issue_verify_email_otp=1 --subjects 64 \
  --json-file "$tmp/mix.json" >"$tmp/bench.out" 2>"$tmp/bench.err" || code=$?
[ "$code" -eq 0 ] || fail "exit $code with --rate and --mix, expected 0"
grep -Eq "^mix +MIXED +2 +[0-9]+ +[1-9][0-9]* " "$tmp/bench.out" || fail "no report line for mix"
grep -q '^open loop: 400 calls/s offered' "$tmp/bench.out" || fail "no open-loop line"
grep -q '"offered_rate": 400.0' "$tmp/mix.json" || fail "the JSON report has no offered rate"
for m in GetPolicy ValidateSession RecordFailure IssueEmailOtp VerifyEmailOtp; do
  grep -q "\"method\": \"/secpol.v1.[A-Za-z]*/$m\"" "$tmp/mix.json" || fail "mix: no latency of $m"
done
code=0
"$bench" --endpoint "$endpoint" --mix NoSuchMethod=1 >"$tmp/bench.out" 2>"$tmp/bench.err" || code=$?
[ "$code" -eq 2 ] && grep -q 'no scenario or method NoSuchMethod' "$tmp/bench.err" ||
  fail "--mix NoSuchMethod=1: exit $code, expected 2 with a message"

# secpold takes the load and still stops cleanly.
status=0
secpol_stop "$pid" || status=$?
[ "$status" -eq 0 ] || fail "secpold exited $status after SIGTERM"

# The front-end ratios: the same scenarios against secpol-echo (bench/echo.c),
# reported as secpold's calls/s over the echo's, with their targets.
echo_server=$SECPOL_BUILD_DIR/secpol-echo
[ -x "$echo_server" ] || fail "$echo_server is missing (it is built with the default target)"
secpol_spawn "ipc://$tmp/s2.sock" "$tmp/data2" "$tmp/secpold2.log"
pid2=$spawned_pid
"$echo_server" --endpoint "ipc://$tmp/echo.sock" 2>"$tmp/echo.log" &
echo_pid=$!
secpol_pids+=("$echo_pid") # the EXIT trap stops it too
give_up=$((SECONDS + secpol_deadline))
until grep -q '^secpol-echo: listening' "$tmp/echo.log"; do
  kill -0 "$echo_pid" 2>/dev/null || fail "secpol-echo exited at start"
  [ "$SECONDS" -lt "$give_up" ] || fail "secpol-echo did not start"
  sleep 0.05 # between looks at the log; the deadline above bounds the wait
done
code=0
timeout 60 "$bench" --endpoint "ipc://$tmp/s2.sock" --echo-endpoint "ipc://$tmp/echo.sock" \
  --seconds 0.5 --warmup 1 --depth 16 --scenarios get_policy --json-file "$tmp/echo.json" \
  >"$tmp/bench.out" 2>"$tmp/bench.err" || code=$?
[ "$code" -eq 0 ] || fail "exit $code with --echo-endpoint, expected 0"
for r in Health/echo GetPolicy/echo; do
  # ratio, secpold/s, echo/s, spread, p50, p99, ratio, target, verdict
  grep -Eq "^$r +[0-9]+ +[1-9][0-9]* +[^ ]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ >= 0\.[0-9]+ (met|BELOW)$" \
    "$tmp/bench.out" || fail "no front-end line for $r"
  grep -q "\"ratio\": \"$r\"" "$tmp/echo.json" || fail "$r missing from the JSON report"
done
status=0
secpol_stop "$echo_pid" || status=$?
[ "$status" -eq 0 ] || fail "secpol-echo exited $status after SIGTERM"
grep -Eq '^secpol-echo: stopped: [1-9][0-9]* calls answered, 0 dropped$' "$tmp/echo.log" ||
  fail "secpol-echo did not report its calls"
status=0
secpol_stop "$pid2" || status=$?
[ "$status" -eq 0 ] || fail "the second secpold exited $status after SIGTERM"

# Nobody answering is an error, not an empty report.
code=0
timeout 20 "$bench" --endpoint "ipc://$tmp/nobody.sock" --seconds 0.3 --timeout 300 \
  >"$tmp/bench.out" 2>"$tmp/bench.err" || code=$?
[ "$code" -eq 1 ] || fail "exit $code without a secpold, expected 1"
grep -q 'no secpold answered' "$tmp/bench.err" || fail "no message without a secpold"

echo "ok   - secpol-bench ran every scenario against secpold, reported each, exit 0"
echo "1 passed, 0 failed"
