#!/usr/bin/env bash
# secpold --metrics-listen serves Prometheus metrics and probes over HTTP:
# a scrape after known calls shows the counts moved by exactly those calls
# (requests by method and status code, latency histograms, group commit
# sizes, lockouts), the gauges (store, queues, uptime, version), every
# metric named secpol_...; /healthz and /readyz answer; anything else is
# refused; a bad or taken address stops secpold at start with its reason.
source "$(dirname "$0")/lib.sh"
secpol_start secpol-metrics --metrics-listen 127.0.0.1:0
port=$(sed -n 's/.*msg="metrics listening" address=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/secpold.log")
if [ -n "$port" ] && [ "$port" -gt 0 ]; then ok "logs the metrics address with the port bound"; else bad "logs the metrics address" "$(cat "$tmp/secpold.log")"; secpol_finish; fi
base="http://127.0.0.1:$port"
http() { curl -s --noproxy '*' --max-time 10 "$@"; }
scrape() { http "$base/metrics"; }
# value NAME{LABELS} in the last scrape ($page); 0 when absent
value() {
  local v
  v=$(awk -v name="$1 " 'index($0, name) == 1 { print $NF; exit }' <<<"$page")
  echo "${v:-0}"
}
moved() { # NAME DELTA METRIC
  local before=$3 after
  after=$(value "$4")
  if [ "$((after - before))" -eq "$2" ]; then ok "$1"; else bad "$1" "$4: $before -> $after, expected +$2"; fi
}

# --- probes and refusals ------------------------------------------------------
run "GET /healthz" 0 http -w '%{http_code}\n' "$base/healthz" && check "/healthz is 200 ok" "$out" '^ok$' '^200$'
run "GET /readyz" 0 http -w '%{http_code}\n' "$base/readyz" && check "/readyz is 200 ready" "$out" '^ready$' '^200$'
run "GET /nothing" 0 http -o /dev/null -w '%{http_code}' "$base/nothing" && has "another path is 404" "$out" '^404$'
run "POST /metrics" 0 http -o /dev/null -w '%{http_code}' -X POST -d x=1 "$base/metrics" && has "POST is 405" "$out" '^405$'
run "HEAD /metrics" 0 http -I -o /dev/null -w '%{http_code}' "$base/metrics" && has "HEAD is 200" "$out" '^200$'
run "content type" 0 http -o /dev/null -w '%{content_type}' "$base/metrics" &&
  has "Prometheus text format 0.0.4" "$out" '^text/plain; version=0\.0\.4'

# --- counts move by the calls made ----------------------------------------------
ctl policy set --create w-metrics email_two_step_enabled=true >/dev/null || bad "email two-step on"
page=$(scrape)
get_ok=$(value 'secpol_requests_total{method="/secpol.v1.PolicyService/GetPolicy",code="OK"}')
get_hist=$(value 'secpol_request_duration_seconds_count{method="/secpol.v1.PolicyService/GetPolicy"}')
update_bad=$(value 'secpol_requests_total{method="/secpol.v1.PolicyService/UpdatePolicy",code="INVALID_ARGUMENT"}')
fail_ok=$(value 'secpol_requests_total{method="/secpol.v1.LockoutService/RecordFailure",code="OK"}')
locks=$(value 'secpol_lockouts_total{kind="login"}')
claim_locks=$(value 'secpol_lockouts_total{kind="claim"}')
batches=$(value 'secpol_write_batch_size_count')
batched=$(value 'secpol_write_batch_size_sum')
commits=$(value 'secpol_write_commits_total')
unknown=$(value 'secpol_requests_total{method="unknown",code="UNIMPLEMENTED"}')
otp_failures=$(value 'secpol_otp_failures_total')

for i in 1 2 3; do ctl policy get w-metrics >/dev/null || bad "policy get $i"; done
run "an invalid update" 3 ctl call PolicyService/UpdatePolicy \
  '{"workspace_id":"w-metrics","policy":{"login_lockout":{"max_failures":100000}},"update_mask":["login_lockout.max_failures"]}'
for i in 1 2 3 4 5; do
  ctl call LockoutService/RecordFailure '{"workspace_id":"w-metrics","subject_id":"u1","kind":"LOCKOUT_KIND_LOGIN"}' >/dev/null ||
    bad "RecordFailure $i"
done
# two wrong email codes and a right one: two OTP failures
otp='{"workspace_id":"w-metrics","subject_id":"u2","purpose":"login"'
code=$(ctl call OtpService/IssueEmailOtp "$otp}" | sed -n 's/.*"code": *"\([0-9]*\)".*/\1/p')
wrong=$([ "$code" = 000000 ] && echo 111111 || echo 000000)
for i in 1 2; do ctl call OtpService/VerifyEmailOtp "$otp,\"code\":\"$wrong\"}" >/dev/null || bad "wrong code $i"; done
run "the right code" 0 ctl call OtpService/VerifyEmailOtp "$otp,\"code\":\"$code\"}" &&
  has "the right code is accepted" "$out" '"ok": *true'
# an unknown method, sent raw (secpolctl refuses unknown paths itself)
run "an unknown method from Python" 0 env PYTHONPATH="$SECPOL_BUILD_DIR/python" /usr/bin/python3 -c '
import sys, secpol
try:
    secpol.Client(sys.argv[1]).call("/secpol.v1.Nope/Nothing")
except secpol.SecpolError as e:
    print(e.code_name)' "$endpoint" && has "the unknown method is UNIMPLEMENTED" "$out" '^UNIMPLEMENTED$'

page=$(scrape)
moved "GetPolicy OK counts 3 calls" 3 "$get_ok" 'secpol_requests_total{method="/secpol.v1.PolicyService/GetPolicy",code="OK"}'
moved "GetPolicy latency histogram counts 3" 3 "$get_hist" 'secpol_request_duration_seconds_count{method="/secpol.v1.PolicyService/GetPolicy"}'
moved "UpdatePolicy INVALID_ARGUMENT counts 1" 1 "$update_bad" 'secpol_requests_total{method="/secpol.v1.PolicyService/UpdatePolicy",code="INVALID_ARGUMENT"}'
moved "RecordFailure OK counts 5" 5 "$fail_ok" 'secpol_requests_total{method="/secpol.v1.LockoutService/RecordFailure",code="OK"}'
moved "the fifth failure locked: one login lockout" 1 "$locks" 'secpol_lockouts_total{kind="login"}'
moved "no claim lockout" 0 "$claim_locks" 'secpol_lockouts_total{kind="claim"}'
# nine writes that carried a request, one after the other (five lockout
# failures, the code issued, three verified; the refused update carried
# none): nine batches of one. Commits count the writer's sweeps too.
moved "nine writes, nine group commits of one" 9 "$batches" 'secpol_write_batch_size_count'
moved "carrying nine requests" 9 "$batched" 'secpol_write_batch_size_sum'
after=$(value secpol_write_commits_total)
if [ "$((after - commits))" -ge 9 ]; then ok "write commits counted"; else bad "write commits counted" "$commits -> $after"; fi
one=$(value 'secpol_write_batch_size_bucket{le="1"}')
if [ "$one" = "$(value secpol_write_batch_size_count)" ]; then ok "every batch in the le=1 bucket"; else bad "every batch in the le=1 bucket" "$one"; fi
has "no full disk" "$page" '^secpol_store_disk_full 0$'
has "the store answered" "$page" '^secpol_store_up 1$'
has "the lockout table holds the counters" "$page" '^secpol_store_table_entries\{table="lockout"\} [1-9][0-9]*$'
has "disk space" "$page" '^secpol_store_disk_free_bytes [1-9][0-9]*$'
has "no failed commit" "$page" '^secpol_write_failed_commits_total 0$'
moved "two wrong one-time codes: two OTP failures" 2 "$otp_failures" 'secpol_otp_failures_total'
moved "an unknown method counts under method=unknown" 1 "$unknown" 'secpol_requests_total{method="unknown",code="UNIMPLEMENTED"}'
# a histogram's +Inf bucket is its count, and buckets never decrease
inf=$(value 'secpol_request_duration_seconds_bucket{method="/secpol.v1.PolicyService/GetPolicy",le="+Inf"}')
count=$(value 'secpol_request_duration_seconds_count{method="/secpol.v1.PolicyService/GetPolicy"}')
if [ "$inf" = "$count" ]; then ok "+Inf bucket equals the count"; else bad "+Inf bucket equals the count" "$inf vs $count"; fi
sorted=$(grep -F 'secpol_request_duration_seconds_bucket{method="/secpol.v1.PolicyService/GetPolicy"' <<<"$page" | awk '{print $NF}')
if [ "$sorted" = "$(sort -n <<<"$sorted")" ]; then ok "buckets are cumulative"; else bad "buckets are cumulative" "$sorted"; fi

# --- gauges -------------------------------------------------------------------------
version=$(ctl health -o json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
has "build info carries the version" "$page" "^secpol_build_info\{version=\"$version\",schema=\"[0-9]+\"\} 1$"
if [ "${SECPOL_TEST_STORE:-}" = postgresql ]; then # no map: the gauges are LMDB's
  has "no map on PostgreSQL: its gauges are 0" "$page" '^secpol_store_map_size_bytes 0$'
else
  has "store map size" "$page" '^secpol_store_map_size_bytes [1-9][0-9]*$'
  has "store use" "$page" '^secpol_store_used_bytes [1-9][0-9]*$'
  map=$(value secpol_store_map_size_bytes)
  used=$(value secpol_store_used_bytes)
  if [ "$used" -le "$map" ]; then ok "use is within the map"; else bad "use is within the map" "$used > $map"; fi
fi
check "queue depth of each lane" "$page" '^secpol_lane_queue_depth\{lane="read"\} [0-9]+$' \
  '^secpol_lane_queue_depth\{lane="write"\} [0-9]+$' '^secpol_lane_queue_depth\{lane="slow"\} [0-9]+$'
has "uptime" "$page" '^secpol_uptime_seconds [0-9]+\.[0-9]+$'
has "start time" "$page" '^secpol_start_time_seconds [0-9]+$'
names=$(grep -v '^#' <<<"$page" | sed 's/[{ ].*//' | sort -u)
lacks "every metric is named secpol_..." "$names" '^([^s]|s[^e]|se[^c]|sec[^p]|secp[^o]|secpo[^l]|secpol[^_])'
typed=$(grep -c '^# TYPE secpol_' <<<"$page")
helped=$(grep -c '^# HELP secpol_' <<<"$page")
if [ "$typed" -eq "$helped" ] && [ "$typed" -ge 10 ]; then ok "every metric has HELP and TYPE"; else bad "every metric has HELP and TYPE" "$typed TYPE, $helped HELP"; fi

# --- bad addresses ------------------------------------------------------------------
run "--metrics-listen without a port" 1 "$SECPOLD" --endpoint "ipc://$tmp/b.sock" --data-dir "$tmp/b" \
  --metrics-listen nonsense && has "names the option and the form" "$err" 'metrics-listen must be ADDR:PORT'
run "--metrics-listen on a taken port" 1 "$SECPOLD" --endpoint "ipc://$tmp/c.sock" --data-dir "$tmp/c" \
  --metrics-listen "127.0.0.1:$port" && has "says the address is in use" "$err" 'in use'
secpol_finish
