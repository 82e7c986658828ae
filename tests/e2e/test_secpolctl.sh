#!/usr/bin/env bash
# secpolctl against a real secpold: health, list, call (camelCase JSON, stdin),
# errors (unknown method, bad JSON, bad field, server status, no server) with
# their exit codes and messages.
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-test --test-clock

# --- health ------------------------------------------------------------------
run "health" 0 ctl health && has "health prints SERVING" "$out" '"status": "SERVING"'
has "health prints the version" "$out" '"version": "[0-9]+\.[0-9]+'

# SECPOL_ENDPOINT is the default endpoint.
run "health via SECPOL_ENDPOINT" 0 env SECPOL_ENDPOINT="$endpoint" "$SECPOLCTL" health &&
  has "SECPOL_ENDPOINT used" "$out" SERVING

# --- list --------------------------------------------------------------------
run "list" 0 "$SECPOLCTL" list
has "list shows Health/Check with its types" "$out" \
  '^/secpol\.v1\.Health/Check +secpol\.v1\.HealthCheckRequest -> secpol\.v1\.HealthCheckResponse$'
has "list shows PolicyService/GetPolicy with its types" "$out" \
  '^/secpol\.v1\.PolicyService/GetPolicy +secpol\.v1\.GetPolicyRequest -> secpol\.v1\.Policy$'
has "list shows TestClockService/SetOffset" "$out" '^/secpol\.v1\.TestClockService/SetOffset '

# --- call --------------------------------------------------------------------
run "call Health/Check" 0 ctl call /secpol.v1.Health/Check '{}' &&
  has "call prints the response JSON" "$out" '"status": "SERVING"'
run "call without JSON" 0 ctl call /secpol.v1.Health/Check &&
  has "call without JSON = {}" "$out" SERVING
run "call with JSON on stdin" 0 bash -c "echo '{}' | \"\$0\" --endpoint '$endpoint' call /secpol.v1.Health/Check -" "$SECPOLCTL" &&
  has "stdin JSON" "$out" SERVING
# Every field is printed, zero values too (schema_version, now, ...).
has "zero values printed" "$out" '"schema_version": '

now_before=$(ctl call /secpol.v1.Health/Check | sed -n 's/.*"now": \([0-9]*\).*/\1/p')
run "SetOffset with camelCase field" 0 ctl call /secpol.v1.TestClockService/SetOffset '{"offsetSeconds": 3600}'
has "SetOffset answers now" "$out" '"now": [0-9]+'
now_after=$(ctl call /secpol.v1.Health/Check | sed -n 's/.*"now": \([0-9]*\).*/\1/p')
shift_seconds=$((now_after - now_before))
if [ "$shift_seconds" -ge 3590 ] && [ "$shift_seconds" -le 3610 ]; then
  ok "Health/Check now moved by ~3600 s ($shift_seconds)"
else
  bad "Health/Check now moved by ~3600 s" "before $now_before after $now_after"
fi
run "SetOffset back to 0 (proto name)" 0 ctl call /secpol.v1.TestClockService/SetOffset '{"offset_seconds": 0}'

run "GetPolicy prints every setting" 0 ctl call /secpol.v1.PolicyService/GetPolicy '{"workspaceId": "w-ctl"}' &&
  has "GetPolicy shows nested settings" "$out" '"max_failures": [0-9]+'

# --- errors ------------------------------------------------------------------
run "unknown method exits non-zero" 12 ctl call /secpol.v1.Nope/Check '{}' &&
  has "unknown method: UNIMPLEMENTED on stderr" "$err" '^UNIMPLEMENTED: .*/secpol\.v1\.Nope/Check'
run "bad JSON exits 2" 2 ctl call /secpol.v1.Health/Check '{"a":' &&
  has "bad JSON message" "$err" 'invalid JSON at line 1'
run "unknown field exits 2" 2 ctl call /secpol.v1.PolicyService/GetPolicy '{"workspace": "w"}' &&
  has "unknown field is named" "$err" 'workspace: unknown field'
run "wrong type exits 2" 2 ctl call /secpol.v1.TestClockService/SetOffset '{"offsetSeconds": "soon"}' &&
  has "wrong type names the field" "$err" 'offset_seconds: expected an integer'
run "nested field error" 2 ctl call /secpol.v1.PolicyService/UpdatePolicy \
  '{"policy": {"loginLockout": {"maxFailures": -1}}}' &&
  has "nested field is named by path" "$err" 'policy\.login_lockout\.max_failures: -1 is out of range'
if [ -z "$out" ]; then ok "nothing on stdout on error"; else bad "nothing on stdout on error" "$out"; fi

# A status from the server: name, message and violations on stderr, the code as exit status.
run "server INVALID_ARGUMENT exits 3" 3 ctl call /secpol.v1.PolicyService/UpdatePolicy \
  '{"workspaceId": "w-ctl", "policy": {"loginLockout": {"maxFailures": 1000}}, "updateMask": ["login_lockout.max_failures"]}' &&
  has "INVALID_ARGUMENT on stderr" "$err" '^INVALID_ARGUMENT'
has "violation printed as field: description" "$err" '^  [a-z_.]*max_failures: .+'

# Without --test-clock the server itself answers UNIMPLEMENTED.
secpol_spawn "ipc://$tmp/plain.sock" "$tmp/plain" "$tmp/plain.log"
plain_pid=$spawned_pid
run "server UNIMPLEMENTED exits 12" 12 "$SECPOLCTL" --endpoint "ipc://$tmp/plain.sock" \
  call /secpol.v1.TestClockService/SetOffset '{"offsetSeconds": 1}' &&
  has "server UNIMPLEMENTED on stderr" "$err" '^UNIMPLEMENTED'
status=0
secpol_stop "$plain_pid" || status=$?
if [ "$status" -eq 0 ]; then ok "plain secpold exits 0"; else bad "plain secpold exits 0" "status $status"; fi

# --- usage -------------------------------------------------------------------
run "--help" 0 "$SECPOLCTL" --help && has "--help shows commands" "$out" 'call METHOD'
run "no command exits 2" 2 "$SECPOLCTL"
run "unknown command exits 2" 2 "$SECPOLCTL" frobnicate
run "bad --timeout exits 2" 2 "$SECPOLCTL" --timeout soon health
run "a method that is neither Svc/Method nor Svc.Method exits 2" 2 ctl call Check
run "policy --help needs no server" 0 "$SECPOLCTL" --endpoint "ipc://$tmp/nobody.sock" --timeout 100 policy --help &&
  has "policy --help needs no server" "$out" 'check-upload WORKSPACE FILENAME'

# --- no server ---------------------------------------------------------------
# (test_secpolctl_connect.sh: nothing listening fails within a second
# whatever the timeout; a shorter timeout is shorter still)
start=$(date +%s%N)
run "no server: UNAVAILABLE exits 14" 14 "$SECPOLCTL" --endpoint "ipc://$tmp/nobody.sock" --timeout 300 health &&
  has "no server message" "$err" '^UNAVAILABLE: cannot reach secpold at ipc://.*/nobody\.sock \(is it running\?\)$'
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$elapsed_ms" -lt 3000 ]; then ok "gave up after ~300 ms ($elapsed_ms ms)"; else bad "gave up in time" "$elapsed_ms ms"; fi

secpol_finish
