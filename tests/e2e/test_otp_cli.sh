#!/usr/bin/env bash
# secpolctl otp against a real secpold (issue 10): an email code issued,
# refused when wrong and accepted once; an authenticator app begun, its
# codes computed by oathtool from the printed secret at the daemon's
# test-clock time, confirmed (recovery codes printed), verified, a replay
# refused, a recovery code used, codes regenerated, status, removal. Every
# code is read from stdin; none of the codes or the secret reaches
# secpold's log. Usage errors exit 2 before anything is sent; help needs no
# server.
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-otp --test-clock
nobody="ipc://$tmp/nobody.sock" # nothing listens here

# field JSON NAME [INDEX]: a string field of a JSON reply (an entry of an array)
field() {
  python3 -c 'import json, sys
v = json.loads(sys.argv[1])[sys.argv[2]]
print(v[int(sys.argv[3])] if len(sys.argv) > 3 else v)' "$@"
}
# at UNIX: the daemon's clock reads UNIX (10 s into a 30 s step, so the
# commands that follow see the same step)
at() {
  ctl call TestClockService/SetOffset "{\"offset_seconds\": $(($1 - $(date +%s)))}" >/dev/null
}
totp() { printf '%s\n' "$1" | oathtool --totp -b --digits=6 --now="@$2" -; }
base=2000000010 # the start of a step

run "policy: email codes on, lockout off" 0 ctl policy set acme --create \
  email_two_step_enabled=true two_factor_lockout.max_failures=0

# --- email codes -------------------------------------------------------------
run "issue an email code" 0 ctl otp issue-email acme alice sign_in &&
  check "issue: the code and its expiry" "$out" '"code": "[0-9]{6}"' '"expires_at": [1-9]'
email_code=$(field "$out" code)
wrong=$(printf '%06d' $(((10#$email_code + 1) % 1000000)))
run "a wrong email code" 0 ctl otp verify-email acme alice sign_in <<<"$wrong" &&
  check "wrong: refused" "$out" '^refused: invalid$' '^two-factor: lockout off$'
run "the right email code" 0 ctl otp verify-email acme alice sign_in <<<"$email_code" &&
  has "right: ok" "$out" '^ok$'
run "used once" 0 ctl -o json otp verify-email acme alice sign_in <<<"$email_code" &&
  check "used: refused, as JSON" "$out" '"ok": false' '"reason": "invalid"'

# --- an authenticator app ----------------------------------------------------
at $((base + 10))
run "begin an enrollment" 0 ctl otp begin acme alice alice@example.com --issuer "Acme Co" &&
  check "begin: secret and URI" "$out" '"secret_base32": "[A-Z2-7]{32}"' \
    '"otpauth_uri": "otpauth://totp/Acme%20Co:alice%40example.com\?secret=[A-Z2-7]{32}&issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30"'
secret=$(field "$out" secret_base32)
run "status: pending" 0 ctl otp status acme alice &&
  check "status: pending" "$out" '^pending: true$' '^enrolled: false$'
run "confirm with the app's code" 0 ctl otp confirm acme alice <<<"$(totp "$secret" $((base + 10)))" &&
  check "confirm: ok and 10 recovery codes" "$out" '"ok": true' '"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}"'
recovery=$(field "$out" recovery_codes 0)
old_recovery=$(field "$out" recovery_codes 1)
[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["recovery_codes"]))' "$out")" = 10 ] &&
  has "ten codes" "10" '^10$'
run "the confirming code again" 0 ctl otp verify acme alice <<<"$(totp "$secret" $((base + 10)))" &&
  has "replay refused" "$out" '^refused: replayed$'
at $((base + 40))
run "the next step's code" 0 ctl otp verify acme alice <<<"$(totp "$secret" $((base + 40)))" &&
  has "verify: ok" "$out" '^ok$'
run "one step ahead" 0 ctl otp verify acme alice <<<"$(totp "$secret" $((base + 70)))" &&
  check "ahead: ok with drift" "$out" '^ok$' '^drift: \+1 step$'
run "a recovery code" 0 ctl otp recover acme alice <<<"$recovery" &&
  check "recover: ok, 9 left" "$out" '^ok$' '^recovery codes left: 9$'
run "the same recovery code" 0 ctl otp recover acme alice <<<"$recovery" &&
  has "recovery code used" "$out" '^refused: invalid$'
run "status: enrolled" 0 ctl otp status acme alice &&
  check "status" "$out" '^enrolled: true$' '^recovery_codes_left: 9$' '^drift_steps: 1$'
run "regenerate" 0 ctl otp regenerate acme alice &&
  has "regenerate: new codes" "$out" '"recovery_codes": \['
fresh=$(field "$out" recovery_codes 4)
first_new=$(field "$out" recovery_codes 0)
run "an old code after regenerate" 0 ctl otp recover acme alice <<<"$old_recovery" &&
  has "old code dead" "$out" '^refused: invalid$'
run "a new code, typed in lower case" 0 ctl otp recover acme alice <<<"$(tr 'A-Z' 'a-z' <<<"$first_new")" &&
  has "new code ok" "$out" '^ok$'
run "remove" 0 ctl otp remove acme alice && has "removed" "$out" '"removed": true'
run "status after remove" 0 ctl -o json otp status acme alice &&
  has "not enrolled" "$out" '"enrolled": false'
run "a code after remove" 0 ctl otp verify acme alice <<<"$(totp "$secret" $((base + 40)))" &&
  has "refused" "$out" '^refused: invalid$'
run "apps off" 0 ctl policy set acme authenticator_app_enabled=false
run "begin while off" 9 ctl otp begin acme alice alice &&
  has "off: FAILED_PRECONDITION" "$err" 'FAILED_PRECONDITION.*authenticator_app_enabled'

log=$(cat "$tmp/secpold.log")
lacks "the log never holds the secret" "$log" "$secret"
lacks "nor a recovery code" "$log" "$recovery"
lacks "nor a new one" "$log" "$fresh"
lacks "nor an email code" "$log" "code=$email_code"

# --- usage, without a server ---------------------------------------------------
run "no code on stdin" 2 "$SECPOLCTL" --endpoint "$nobody" otp verify acme alice </dev/null &&
  has "no code" "$err" 'no code on stdin'
run "missing words" 2 "$SECPOLCTL" --endpoint "$nobody" otp issue-email acme alice &&
  has "missing purpose" "$err" 'purpose'
run "--issuer goes with begin" 2 "$SECPOLCTL" --endpoint "$nobody" otp status acme alice --issuer X
run "unknown command" 2 "$SECPOLCTL" --endpoint "$nobody" otp frobnicate acme alice
run "no server" 14 "$SECPOLCTL" --endpoint "$nobody" otp verify acme alice <<<"123456" &&
  has "no server" "$err" 'UNAVAILABLE'
run "help" 0 "$SECPOLCTL" otp --help && check "help lists" "$out" 'issue-email' 'recover' 'status'
run "begin help" 0 "$SECPOLCTL" otp begin --help && has "begin help" "$out" '--issuer'

secpol_finish
