#!/usr/bin/env bash
# secpolctl password check and account status against a real secpold: a
# weak password (TOO_SHORT, COMMON), a good one (ok), user inputs, a reused
# one after RecordPasswordChange, -o json, the account status before and
# after the change; the password is read from stdin, its first line, and
# never appears in secpold's log nor in secpolctl's output. Usage errors
# (missing words, no password on stdin) exit 2 with no server, and help
# needs none (issue 11).
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-password
nobody="ipc://$tmp/nobody.sock" # nothing listens here
weak=sunshine
good='Tq7#vLm2!pXw9zRb'

run "a weak password" 0 ctl password check acme alice <<<"$weak" &&
  check "weak: one line per broken rule" "$out" '^TOO_SHORT: ' '^COMMON: '
lacks "weak: not ok" "$out" '^ok$'
lacks "the output never holds the password" "$out$err" "$weak"
run "a good password" 0 ctl password check acme alice <<<"$good" &&
  check "good: ok" "$out" '^ok$'
run "only the first line is the password" 0 ctl password check acme alice <<<"$good"$'\n'"$weak" &&
  check "first line: ok" "$out" '^ok$'
run "a CRLF line" 0 ctl password check acme alice < <(printf '%s\r\n' "$good") &&
  check "CRLF: ok" "$out" '^ok$'
run "the user's name inside" 0 ctl password check acme alice --user-input alicewonderland \
  <<<"xx-alicewonderland-77" &&
  has "user input" "$out" '^CONTAINS_USER_INPUT: '
run "as JSON" 0 ctl -o json password check acme alice <<<"$weak" &&
  check "as JSON" "$out" '"ok": false' '"code": "TOO_SHORT"' '"code": "COMMON"'

run "account status of a subject never seen" 0 ctl account status acme alice &&
  check "never seen" "$out" '^must_reset_password: false$' '^inactive: false$'
run "policy: keep 3 hashes" 0 ctl policy set acme --create password_reuse_limit=3
run "record the change" 0 ctl call PasswordService/RecordPasswordChange - \
  <<<"{\"workspace_id\": \"acme\", \"subject_id\": \"alice\", \"password\": \"$good\"}"
run "the same password again" 0 ctl password check acme alice <<<"$good" &&
  has "reused" "$out" '^REUSED: '
run "account status after the change" 0 ctl -o json account status acme alice --community "" &&
  has "password_changed_at set" "$out" '"password_changed_at": [1-9][0-9]*'

lacks "secpold's log never holds the good password" "$(cat "$tmp/secpold.log")" "$good"
lacks "nor the weak one" "$(cat "$tmp/secpold.log")" "$weak"

run "no password on stdin" 2 "$SECPOLCTL" --endpoint "$nobody" password check acme alice </dev/null &&
  has "no password" "$err" 'no password on stdin'
run "missing words" 2 "$SECPOLCTL" --endpoint "$nobody" password check acme <<<"$good" &&
  has "missing words" "$err" 'give the workspace and the subject'
lacks "a usage error never shows the password" "$err" "$good"
run "account status: missing words" 2 "$SECPOLCTL" --endpoint "$nobody" account status acme &&
  has "account: missing words" "$err" 'give the workspace and the subject'
run "no server" 14 "$SECPOLCTL" --endpoint "$nobody" password check acme alice <<<"$good" &&
  has "no server" "$err" 'UNAVAILABLE'
run "help" 0 "$SECPOLCTL" password --help && has "help lists check" "$out" 'check'
run "check help" 0 "$SECPOLCTL" password check --help &&
  check "check help" "$out" 'stdin' '--user-input'
run "account help" 0 "$SECPOLCTL" account --help && has "account help lists status" "$out" 'status'

secpol_finish
