#!/usr/bin/env bash
# The audit log end to end with CURVE on (issue 12, docs/SECURITY.md): an
# admin key and a service key make one event of every kind through
# secpolctl (policy update, delete and forced reset; a lockout and an
# unlock; token, session and all-session revocations; TOTP enrollment
# begun, confirmed, recovery codes regenerated and one used, removal);
# `secpolctl audit` lists each with its caller's certificate name, filters
# by workspace, subject, kind and time, pages; a service key may not read
# it; no secret the test used (tokens, session token, TOTP secret and
# codes, recovery codes, email code) is in the log, the store or an event;
# events past --audit-retention-days are reaped by the writer.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/secpol-audit-keys-XXXXXX)
trap 'secpol_cleanup; rm -rf "$work"' EXIT
mkdir -p "$work/server" "$work/keys"
"$SECPOLCTL" keygen secpold --dir "$work/server" >/dev/null
"$SECPOLCTL" keygen ops --role admin --dir "$work/keys" >/dev/null
"$SECPOLCTL" keygen billing --role service --dir "$work/keys" >/dev/null
export SECPOL_SERVER_KEY="$work/server/secpold" SECPOL_CLIENT_CERT="$work/keys/ops_secret"
secpol_start secpolctl-audit --test-clock --audit-retention-days 30 \
  --curve-secret-key "$work/server/secpold_secret" --authorized-keys "$work/keys"
log="$tmp/secpold.log"
svc() { SECPOL_CLIENT_CERT="$work/keys/billing_secret" ctl "$@"; }
field() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
totp() { # SECRET_BASE32 -> the code of now (RFC 6238, SHA-1, 6 digits, 30 s)
  python3 - "$1" <<'EOF'
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
EOF
}
secrets=()

# --- one event of each kind ---------------------------------------------------------
run "admin: policy with apps on, a lock at 2, a forced reset" 0 ctl policy set acme --create \
  authenticator_app_enabled=true email_two_step_enabled=true login_lockout.max_failures=2 \
  force_password_reset=1
run "admin: a community level" 0 ctl policy set acme --community c1 --create hsts.enabled=false
run "admin: its delete" 0 ctl policy delete acme --community c1
for k in 1 2; do
  run "service: a login failure ($k)" 0 svc call LockoutService/RecordFailure \
    '{"workspace_id": "acme", "subject_id": "bob", "kind": "LOCKOUT_KIND_LOGIN"}'
done
run "admin: unlock" 0 ctl lockout unlock acme bob --kind login
run "service: a reset link" 0 svc token issue acme password-reset bob &&
  secrets+=("$(field "d['token']" <<<"$out")")
run "service: revoke bob's tokens" 0 svc token revoke acme bob
run "service: a session" 0 svc session create acme bob && secrets+=("$(field "d['session_token']" <<<"$out")")
run "service: revoke that session" 0 svc session revoke - <<<"${secrets[-1]}"
run "service: another session" 0 svc session create acme bob && secrets+=("$(field "d['session_token']" <<<"$out")")
run "admin: revoke all of bob's sessions" 0 ctl session revoke acme bob --all
run "service: an email code" 0 svc call OtpService/IssueEmailOtp \
  '{"workspace_id": "acme", "subject_id": "bob", "purpose": "login"}' && secrets+=("$(field "d['code']" <<<"$out")")
run "service: begin TOTP enrollment" 0 svc call OtpService/BeginTotpEnrollment \
  '{"workspace_id": "acme", "subject_id": "bob", "account_name": "bob@example.com", "issuer": "Acme"}'
totp_secret=$(field "d['secret_base32']" <<<"$out")
secrets+=("$totp_secret")
confirmed=""
for attempt in 1 2 3; do # a code made at a step's very end may reach the server in the next
  code=$(totp "$totp_secret")
  out=$(svc call OtpService/ConfirmTotpEnrollment \
    "{\"workspace_id\": \"acme\", \"subject_id\": \"bob\", \"code\": \"$code\"}")
  if [ "$(field "d['ok']" <<<"$out")" = True ]; then confirmed=$out; secrets+=("$code"); break; fi
done
[ -n "$confirmed" ] && ok "service: confirm TOTP enrollment" || bad "service: confirm TOTP enrollment" "$out"
run "service: new recovery codes" 0 svc call OtpService/RegenerateRecoveryCodes \
  '{"workspace_id": "acme", "subject_id": "bob"}'
mapfile -t recovery < <(field "'\n'.join(d['recovery_codes'])" <<<"$out")
secrets+=("${recovery[@]}")
mapfile -t old_recovery < <(field "'\n'.join(d.get('recovery_codes', []))" <<<"$confirmed")
secrets+=("${old_recovery[@]}")
run "service: a recovery code used" 0 svc call OtpService/VerifyRecoveryCode \
  "{\"workspace_id\": \"acme\", \"subject_id\": \"bob\", \"code\": \"${recovery[0]}\"}" &&
  has "the recovery code is accepted" "$out" '"ok": true'
run "service: remove TOTP" 0 svc call OtpService/RemoveTotp '{"workspace_id": "acme", "subject_id": "bob"}'

# --- the log ------------------------------------------------------------------------------
run "admin: audit" 0 ctl audit --page-size 500 && all=$out
for kind in POLICY_UPDATED POLICY_DELETED PASSWORD_RESET_FORCED LOCKED_OUT UNLOCKED TOKENS_REVOKED \
  SESSION_REVOKED SESSIONS_REVOKED TOTP_ENROLLMENT_BEGUN TOTP_ENROLLMENT_CONFIRMED \
  RECOVERY_CODES_REGENERATED RECOVERY_CODE_USED TOTP_REMOVED; do
  has "an event of kind $kind" "$all" "^[0-9T:-]+Z #[0-9]+ $kind "
done
check "the caller is the certificate's name" "$all" \
  ' POLICY_UPDATED caller=ops workspace=acme community= subject= method=/secpol.v1.PolicyService/UpdatePolicy detail=version=1 ' \
  ' POLICY_DELETED caller=ops workspace=acme community=c1 ' \
  ' LOCKED_OUT caller=billing workspace=acme community= subject=bob method=/secpol.v1.LockoutService/RecordFailure detail=kind=LOCKOUT_KIND_LOGIN failures=2' \
  ' UNLOCKED caller=ops workspace=acme community= subject=bob ' \
  ' SESSIONS_REVOKED caller=ops .*detail=revoked=1 kept=none' \
  ' PASSWORD_RESET_FORCED caller=ops .*detail=generation=1 previous=0' \
  ' RECOVERY_CODE_USED caller=billing .*subject=bob '
run "policy history" 0 ctl -o json policy history acme &&
  has "the revision's caller is the certificate's name" "$out" '"caller": "ops"'
newest=$(head -1 <<<"$all")
has "newest first" "$newest" ' TOTP_REMOVED '
run "filter by kind" 0 ctl audit --kind unlocked && check "only unlocks" "$out" '^[^ ]+ #[0-9]+ UNLOCKED '
[ "$(wc -l <<<"$out")" -eq 1 ] && ok "exactly one unlock" || bad "exactly one unlock" "$out"
run "filter by subject" 0 ctl audit --subject bob && lacks "no level events for a subject" "$out" 'POLICY_'
run "filter by workspace" 0 ctl audit --workspace other && [ -z "$out" ] && ok "no event of another workspace"
run "events until the epoch's first second: none" 0 ctl audit --until 1 && [ -z "$out" ] && ok "until 1: none"
run "events since now - 1 h" 0 ctl audit --since "$(($(date +%s) - 3600))" --page-size 500 &&
  [ "$(wc -l <<<"$out")" -eq "$(wc -l <<<"$all")" ] && ok "since an hour ago: all of them"
run "a page of 3" 0 ctl audit --page-size 3 && has "says how to go on" "$err" '^more: --page-token a1-[0-9a-f]{16}$'
token=$(sed -n 's/^more: --page-token //p' <<<"$err")
run "the next page" 0 ctl audit --page-size 3 --page-token "$token" &&
  [ "$(sed -n 4,6p <<<"$all")" = "$out" ] && ok "the next page continues where the first stopped"
run "JSON" 0 ctl -o json audit --kind locked-out && check "JSON fields" "$out" '"caller": "billing"' \
  '"kind": "AUDIT_EVENT_KIND_LOCKED_OUT"' '"method": "/secpol.v1.LockoutService/RecordFailure"'
run "a bad kind is a usage error" 2 ctl audit --kind nope
run "a bad time is a usage error" 2 ctl audit --since yesterday
run "a bad page token" 3 ctl audit --page-token xyz && has "names the field" "$err" 'page_token'
run "since after until" 3 ctl audit --since 10 --until 5 && has "until is named" "$err" 'until'
run "a service key may not read the log" 7 svc audit && has "PERMISSION_DENIED" "$err" 'PERMISSION_DENIED'

# --- no secret anywhere -------------------------------------------------------------------
[ "${#secrets[@]}" -ge 25 ] && ok "the secrets used were collected (${#secrets[@]})" ||
  bad "the secrets used were collected" "${secrets[*]}"
leaked=""
for secret in "${secrets[@]}"; do
  [ -n "$secret" ] || continue
  if grep -qF -- "$secret" "$log" "$tmp"/data/*.mdb || grep -qF -- "$secret" <<<"$all"; then
    leaked="$leaked $secret"
  fi
done
[ -z "$leaked" ] && ok "no secret in the log, the store or the events" || bad "secrets leaked" "$leaked"

# --- retention ------------------------------------------------------------------------------
run "31 days later" 0 ctl call TestClockService/SetOffset "{\"offset_seconds\": $((31 * 86400))}"
run "a fresh event" 0 ctl lockout unlock acme carol --kind claim
give_up=$((SECONDS + secpol_deadline))
until [ "$(ctl audit --page-size 500 | wc -l)" -eq 1 ]; do # the writer reaps them each second
  [ "$SECONDS" -lt "$give_up" ] || break
  sleep 0.05
done
run "after the retention" 0 ctl audit --page-size 500 &&
  check "only the fresh event is left" "$out" '^[^ ]+ #[0-9]+ UNLOCKED .*subject=carol '
[ "$(wc -l <<<"$out")" -eq 1 ] && ok "older events were reaped" || bad "older events were reaped" "$out"
run "ids go on" 0 ctl -o json audit &&
  if [ "$(field "d['events'][0]['id']" <<<"$out")" -gt "$(wc -l <<<"$all")" ]; then
    ok "the fresh event's id follows the reaped ones"
  else bad "the fresh event's id follows the reaped ones" "$out"; fi

secpol_finish
