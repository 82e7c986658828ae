#!/usr/bin/env bash
# secpolctl session create/validate/revoke/list against a real secpold: the
# token is printed once and can be given on stdin ("-"), validate exits 5
# (NOT_FOUND) for a revoked or unknown token, --touch, revoke by token, by
# listed id and --all with --except, list as text and JSON with paging, and
# usage errors that send nothing (issue 8 sessions).
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-session

token_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["session_token"])'; }

run "create" 0 ctl session create acme alice &&
  check "create" "$out" '"session_token": "sps_[0-9A-Za-z]{28}"' '"idle_expires_at": [1-9]' \
    '"remember_me_refused": false' '"revoked_sessions": 0'
t1=$(token_of <<<"$out")
run "create, remember-me refused by the default policy" 0 ctl session create acme alice --remember-me &&
  check "create, remember-me refused by the default policy" "$out" '"remember_me": false' \
    '"remember_me_refused": true'
t2=$(token_of <<<"$out")

run "validate" 0 ctl session validate "$t1" &&
  check "validate" "$out" '"subject_id": "alice"' '"workspace_id": "acme"' '"touched": false'
run "validate, token on stdin, as text" 0 ctl -o text session validate - --touch <<<"$t1" &&
  check "validate, token on stdin, as text" "$out" '^session\.subject_id: alice$' '^touched: false$'
run "validate an unknown token" 5 ctl session validate sps_0000000000000000000000000000 &&
  has "validate an unknown token" "$err" '^NOT_FOUND: no such session'
run "validate without a token" 2 ctl session validate &&
  has "validate without a token" "$err" 'give the session token'

run "list" 0 ctl session list acme alice &&
  check "list" "$out" '^SESSION +CREATED +LAST SEEN +IDLE EXPIRES +EXPIRES +REMEMBER-ME$' \
    '^[0-9a-f]{16}  [0-9T:-]+Z  [0-9T:-]+Z  [0-9T:-]+Z  never +no$'
has "list: two sessions" "$(grep -c '^[0-9a-f]\{16\} ' <<<"$out")" '^2$'
lacks "list shows no token" "$out" 'sps_'
run "list, one per page" 0 ctl session list acme alice --page-size 1 &&
  has "list, one per page" "$err" '^more: --page-token s1-[0-9a-f]{32}$'
page=$(sed -n 's/^more: --page-token //p' <<<"$err")
run "list, second page" 0 ctl session list acme alice --page-size 1 --page-token "$page" &&
  lacks "list, second page: the last" "$err" 'more:'
run "list as JSON" 0 ctl -o json session list acme alice &&
  has "list as JSON" "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))' <<<"$out")" '^2$'
id2=$(ctl -o json session list acme alice | python3 -c '
import json, sys
print([s["session_id"] for s in json.load(sys.stdin)["sessions"]][0])')

run "revoke by listed id" 0 ctl session revoke acme alice --session-id "$id2" && has "revoke by listed id" "$out" '^revoked$'
run "revoke the same id again" 0 ctl session revoke acme alice --session-id "$id2" &&
  has "revoke the same id again" "$out" '^no such live session'
t3=$(ctl session create acme alice | token_of)
t4=$(ctl session create acme alice | token_of)
left=$(ctl -o json session list acme alice | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
run "revoke --all --except (token on stdin)" 0 ctl session revoke acme alice --all --except - <<<"$t4" &&
  has "revoke --all --except (token on stdin)" "$out" "^revoked $((left - 1)) sessions? \\(kept"
run "the kept one lives" 0 ctl session validate "$t4"
run "the others are gone" 5 ctl session validate "$t3"
run "revoke by token" 0 ctl session revoke "$t4" && has "revoke by token" "$out" '^revoked$'
run "revoke --all as JSON" 0 ctl -o json session revoke acme alice --all &&
  has "revoke --all as JSON" "$out" '"revoked": 0'

run "revoke: --all and --session-id" 2 ctl session revoke acme alice --all --session-id 00
run "revoke: --except without --all" 2 ctl session revoke "$t1" --except "$t2" &&
  has "revoke: --except without --all" "$err" '--except goes with --all'
run "create: a bad id is named" 3 ctl session create '' alice &&
  has "create: a bad id is named" "$err" 'workspace_id: is required'
run "an unknown option" 2 ctl session list acme alice --frob

lacks "no token in the log" "$(cat "$tmp/secpold.log")" "${t1:4:22}"
secpol_store_dump "$tmp/data" >"$tmp/store.bytes"
run "no token in the store" 1 grep -c -a "${t1:4:22}" "$tmp/store.bytes"
secpol_finish
