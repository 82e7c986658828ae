#!/usr/bin/env bash
# secpolctl token issue/verify/consume/revoke against a real secpold: the
# token is printed once and can be given on stdin ("-"), verify spends no
# use, a single-use token is consumed exactly once (then NOT_FOUND, exit 5),
# a view kind's --max-uses, --workspace and --bound-to refuse a token issued
# for something else, an expired token exits 9 (test clock), revoke counts
# what it ended, and usage errors (a wrong KIND, missing words) exit 2
# before anything is sent, with no server to send to (issue 8).
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-token --test-clock
nobody="ipc://$tmp/nobody.sock" # nothing listens here

token_of() { sed -n 's/.*"token": "\(spl_[0-9A-Za-z]*\)".*/\1/p'; }

run "issue" 0 ctl token issue acme password-reset alice &&
  check "issue" "$out" '"token": "spl_[0-9A-Za-z]{28}"' '"expires_at": "?[1-9]'
t1=$(token_of <<<"$out")
run "verify" 0 ctl token verify "$t1" PASSWORD_RESET &&
  check "verify" "$out" '"subject_id": "alice"' '"workspace_id": "acme"' '"uses_left": 1'
run "verify again: it spent nothing" 0 ctl -o text token verify - password_reset <<<"$t1" &&
  check "verify, token on stdin, as text" "$out" '^subject_id: alice$' '^uses_left: 1$'
run "verify in its workspace" 0 ctl token verify "$t1" password-reset --workspace acme
run "verify in another workspace" 5 ctl token verify "$t1" password-reset --workspace other &&
  has "another workspace: the one NOT_FOUND" "$err" \
    '^NOT_FOUND: no such token: it is unknown, revoked, used up or not valid here$'
run "verify as another kind" 5 ctl token verify "$t1" email-claim &&
  has "verify as another kind: the one NOT_FOUND" "$err" '^NOT_FOUND'
run "consume" 0 ctl token consume - password-reset <<<"$t1" &&
  has "consume" "$out" '"subject_id": "alice"'
run "consume again" 5 ctl token consume "$t1" password-reset &&
  has "consume again: NOT_FOUND" "$err" '^NOT_FOUND'
run "a mistyped token" 5 ctl token verify "${t1%?}x" password-reset &&
  has "a mistyped token: the same NOT_FOUND" "$err" '^NOT_FOUND'

run "issue a view kind with --max-uses 2" 0 ctl token issue acme resource-download bob --max-uses 2 \
  --bound-to file-9
t2=$(token_of <<<"$out")
run "bound to another file" 5 ctl token consume "$t2" resource-download --bound-to file-8
run "first use" 0 ctl token consume "$t2" resource-download --bound-to file-9 &&
  check "first use" "$out" '"uses_left": 1' '"bound_to": "file-9"'
run "second use" 0 ctl token consume "$t2" resource-download
run "third use" 5 ctl token consume "$t2" resource-download

run "a claim link" 0 ctl token issue acme email-claim dave --bound-to new@example.com
t3=$(token_of <<<"$out")
run "a day later" 0 ctl call TestClockService/SetOffset '{"offset_seconds": 86400}'
run "expired: exit 9" 9 ctl token verify "$t3" email-claim &&
  has "expired: says so" "$err" '^FAILED_PRECONDITION: token expired [0-9]+ seconds ago: request a new link$'
run "clock back" 0 ctl call TestClockService/SetOffset '{"offset_seconds": 0}'

run "issue two for carol" 0 ctl token issue acme idea-view carol
run "issue two for carol (2)" 0 ctl token issue acme member-profile carol
run "revoke" 0 ctl token revoke acme carol &&
  has "revoke says how many" "$out" '^revoked 2 live tokens$'
run "revoke as JSON" 0 ctl -o json token revoke acme carol &&
  has "revoke as JSON" "$out" '"revoked": 0'

run "a wrong kind" 2 "$SECPOLCTL" --endpoint "$nobody" token issue acme password-rest alice &&
  check "a wrong kind lists the kinds" "$err" '"password-rest" is not a token kind' '^  PASSWORD_RESET$'
lacks "kinds never offer UNSPECIFIED" "$err" 'UNSPECIFIED'
run "missing words" 2 "$SECPOLCTL" --endpoint "$nobody" token issue acme &&
  has "missing words" "$err" 'give the workspace, the kind and the subject'
lacks "no token in the log" "$(cat "$tmp/secpold.log")" 'spl_[0-9A-Za-z]{28}'

secpol_finish
