#!/usr/bin/env bash
# secpolctl lockout status/unlock against a real secpold: status of a
# subject never seen, of one with failures, of a locked one (one kind or
# all three, as text and as JSON), the lockout off, unlock of one kind,
# and usage errors (a wrong K, unlock without --kind, missing words) that
# exit 2 before anything is sent, with no server to send to (issue 9).
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-lockout --test-clock
nobody="ipc://$tmp/nobody.sock" # nothing listens here
fail() { ctl call LockoutService/RecordFailure "{\"workspace_id\": \"acme\", \"subject_id\": \"$1\", \"kind\": \"$2\"}"; }

run "status of a subject never seen" 0 ctl lockout status acme nobody-yet &&
  check "never seen: three kinds, nothing counted" "$out" \
    '^login: not locked, 0 failures, 5 attempts before the lock$' \
    '^claim: not locked, 0 failures, 5 attempts before the lock$' \
    '^two-factor: not locked, 0 failures, 5 attempts before the lock$'
run "policy: two-factor locks at 2 until an admin unlocks, claim off" 0 ctl policy set acme --create \
  two_factor_lockout.max_failures=2 two_factor_lockout.lock_minutes=0 claim_lockout.max_failures=0
run "a login failure" 0 fail alice LOCKOUT_KIND_LOGIN
for k in 1 2; do run "a two-factor failure $k" 0 fail alice LOCKOUT_KIND_TWO_FACTOR; done
run "status" 0 ctl lockout status acme alice &&
  check "status: each kind on its own" "$out" \
    '^login: not locked, 1 failure, 4 attempts before the lock$' \
    '^claim: off \(max_failures 0\)$' \
    '^two-factor: locked, 2 failures, until an admin unlocks, prompt 30 s$'
run "status of one kind as JSON" 0 ctl -o json lockout status acme alice --kind two-factor &&
  check "one kind as JSON" "$out" '"locked": true' '"failures": 2' '"kind": "LOCKOUT_KIND_TWO_FACTOR"'
run "status of all kinds as JSON" 0 ctl -o json lockout status acme alice &&
  check "an array of three" "$out" '^\[$' '^\]$' '"kind": "LOCKOUT_KIND_CLAIM"'
json=$out
if command -v python3 >/dev/null; then
  run "the array is JSON" 0 python3 -c 'import json,sys; assert len(json.load(sys.stdin)) == 3' <<<"$json"
fi
for k in 1 2 3 4 5; do run "login failure $k" 0 fail bob LOCKOUT_KIND_LOGIN; done
run "a timed lock" 0 ctl lockout status acme bob --kind LOGIN &&
  has "a timed lock says when it ends" "$out" \
    '^login: locked, 5 failures, retry after [0-9]+ s \(until [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\), prompt 30 s$'
run "unlock" 0 ctl lockout unlock acme alice --kind two_factor &&
  has "unlock clears" "$out" '^two-factor: not locked, 0 failures, 2 attempts before the lock$'
run "the login counter is left" 0 ctl lockout status acme alice --kind login &&
  has "the login counter is left" "$out" '^login: not locked, 1 failure, 4 attempts before the lock$'

run "a wrong kind" 2 "$SECPOLCTL" --endpoint "$nobody" lockout status acme alice --kind logon &&
  check "a wrong kind lists the kinds" "$err" '"logon" is not a lockout kind' '^  TWO_FACTOR$'
lacks "kinds never offer UNSPECIFIED" "$err" 'UNSPECIFIED'
run "unlock needs --kind" 2 "$SECPOLCTL" --endpoint "$nobody" lockout unlock acme alice &&
  has "unlock needs --kind" "$err" 'give --kind'
run "missing words" 2 "$SECPOLCTL" --endpoint "$nobody" lockout status acme &&
  has "missing words" "$err" 'give the workspace and the subject'
run "help" 0 "$SECPOLCTL" lockout --help &&
  check "help lists both" "$out" 'status' 'unlock'

secpol_finish
