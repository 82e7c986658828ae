#!/usr/bin/env bash
# CURVE end to end through secpolctl (issue 12, docs/SECURITY.md): keygen
# writes a pair (secret 0600, never overwritten); without CURVE secpold
# refuses a non-loopback bind unless --insecure; with CURVE an admin key
# changes policy and unlocks, a service key is refused both (nothing
# changed) and does its everyday calls, the caller's certificate name is
# in the revisions; an unknown key is refused at once (UNAUTHENTICATED, no
# timeout needed) and a plain-text client gets no reply
# while secpold keeps serving, and the refusal is logged by fingerprint;
# a key removed from the directory is refused after the reload (inotify,
# then SIGHUP), with no restart; no secret key reaches the log.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/secpol-curve-keys-XXXXXX)
trap 'secpol_cleanup; rm -rf "$work"' EXIT
mkdir -p "$work/server" "$work/keys" "$work/other" "$work/spare"
keygen() { "$SECPOLCTL" keygen "$@"; }

# --- keygen ---------------------------------------------------------------------
run "keygen of the server's pair" 0 keygen secpold --dir "$work/server" &&
  check "keygen prints the files and the fingerprint" "$out" '^name: secpold$' \
    "^public: $work/server/secpold$" "^secret: $work/server/secpold_secret$" \
    '^fingerprint: sha256:[0-9a-f]{16}$'
run "keygen of an admin client" 0 keygen ops --role admin --dir "$work/keys"
run "keygen of a service client" 0 keygen billing --dir "$work/keys" &&
  has "the default role is service" "$out" '^role: service$'
run "keygen of a key nobody allowed" 0 keygen intruder --role admin --dir "$work/other"
intruder_fingerprint=$(sed -n 's/^fingerprint: //p' <<<"$out")
has "the secret file is 0600" "$(stat -c %a "$work/keys/ops_secret")" '^600$'
check "the public certificate names the client and its role" "$(cat "$work/keys/ops")" \
  'name = "ops"' 'role = "admin"' 'public-key = ' 
lacks "the public certificate holds no secret key" "$(cat "$work/keys/ops")" 'secret-key'
run "keygen never overwrites" 6 keygen ops --dir "$work/keys" &&
  has "keygen says which file exists" "$err" "ALREADY_EXISTS: $work/keys/ops exists"
run "keygen refuses a role it does not know" 2 keygen eve --role root --dir "$work/keys" &&
  has "the roles are named" "$err" 'admin or service'
run "keygen refuses a name with a slash" 2 keygen ../eve --dir "$work/keys"
cp "$work/keys/billing" "$work/spare/billing"

# --- the exposure guard ---------------------------------------------------------
for address in tcp://0.0.0.0:7420 'tcp://*:7420' tcp://10.1.2.3:7420 'tcp://[::]:7420' tcp://eth0:7420; do
  run "plain text on $address is refused" 1 "$SECPOLD" --endpoint "$address" --data-dir "$work/guard" &&
    check "one line says why ($address)" "$err" "refusing to bind $(sed 's/[][*]/\\&/g' <<<"$address") without CURVE" '--insecure'
done
run "CURVE needs both options" 1 "$SECPOLD" --endpoint "ipc://$work/g.sock" --data-dir "$work/guard" \
  --curve-secret-key "$work/server/secpold_secret" &&
  has "CURVE needs both options: said" "$err" 'needs both --curve-secret-key and --authorized-keys'
chmod 644 "$work/server/secpold_secret"
run "a secret key others may read is refused" 1 "$SECPOLD" --endpoint "ipc://$work/g.sock" \
  --data-dir "$work/guard" --curve-secret-key "$work/server/secpold_secret" --authorized-keys "$work/keys" &&
  has "it says chmod 600" "$err" 'chmod 600'
chmod 600 "$work/server/secpold_secret"
port=$((20000 + RANDOM % 30000))
secpol_spawn "tcp://0.0.0.0:$port" "$work/insecure-data" "$work/insecure.log" --insecure
insecure_pid=$spawned_pid
run "--insecure serves a wildcard address" 0 "$SECPOLCTL" --endpoint "tcp://127.0.0.1:$port" health
has "--insecure warns that CURVE is off" "$(cat "$work/insecure.log")" 'msg="curve off".*every caller is admin'
secpol_stop "$insecure_pid" || bad "the --insecure secpold exits 0"

# --- CURVE on ---------------------------------------------------------------------
export SECPOL_SERVER_KEY="$work/server/secpold" SECPOL_CLIENT_CERT="$work/keys/ops_secret"
port=$((20000 + RANDOM % 30000))
secpol_start secpolctl-curve --test-clock --curve-secret-key "$work/server/secpold_secret" \
  --authorized-keys "$work/keys" --endpoint "tcp://0.0.0.0:$port"
log="$tmp/secpold.log"
has "with CURVE a wildcard address is bound" "$(cat "$log")" "msg=listening endpoint=tcp://0.0.0.0:$port"
has "the keys are loaded" "$(cat "$log")" 'msg="keys loaded" .*admin=1 service=1 generation=1'
as_service() { SECPOL_CLIENT_CERT="$work/keys/billing_secret" ctl "$@"; }

run "admin: policy set" 0 ctl policy set acme --create login_lockout.max_failures=3
run "admin over tcp with CURVE" 0 "$SECPOLCTL" --endpoint "tcp://127.0.0.1:$port" policy get acme &&
  has "admin over tcp reads the policy" "$out" '"max_failures": 3'
run "service: policy set is refused" 7 as_service policy set acme login_lockout.max_failures=9 &&
  has "PERMISSION_DENIED names the method" "$err" 'PERMISSION_DENIED: /secpol.v1.PolicyService/UpdatePolicy needs a more privileged role'
run "service: policy get" 0 as_service policy get acme &&
  has "the refused change changed nothing" "$out" '"max_failures": 3'
run "service: policy delete is refused" 7 as_service policy delete acme
run "policy history" 0 ctl -o json policy history acme &&
  check "the caller's certificate name is in the revision" "$out" '"caller": "ops"'
for k in 1 2 3; do
  run "service: a login failure ($k)" 0 as_service call LockoutService/RecordFailure \
    '{"workspace_id": "acme", "subject_id": "alice", "kind": "LOCKOUT_KIND_LOGIN"}'
done
run "service: unlock is refused" 7 as_service lockout unlock acme alice --kind login
run "service: status" 0 as_service lockout status acme alice --kind login &&
  has "still locked after the refused unlock" "$out" '^login: locked, 3 failures'
run "admin: unlock" 0 ctl lockout unlock acme alice --kind login &&
  has "unlocked" "$out" '^login: not locked, 0 failures'
run "service: a session" 0 as_service -o json session create acme alice
run "service: revoke all sessions is refused" 7 as_service session revoke acme alice --all
run "admin: revoke all sessions" 0 ctl session revoke acme alice --all
run "service: the test clock is refused" 7 as_service call TestClockService/SetOffset '{"offset_seconds": 60}'

# --- refused clients ----------------------------------------------------------------
# The client wakes on the handshake's refusal and fails the call at once: a
# refused key needs no timeout. It waits forever here (--timeout 0), bounded
# by the test's deadline, so a client that waited for its timeout to say so
# would be killed (exit 124), not pass.
refused() { # NAME CERT: secpolctl health with CERT ends UNAUTHENTICATED by itself
  run "$1" 16 env SECPOL_CLIENT_CERT="$2" \
    timeout "$secpol_deadline" "$SECPOLCTL" --endpoint "$endpoint" --timeout 0 health &&
    has "$1: the client says the key was refused" "$err" \
      "UNAUTHENTICATED: $endpoint refused this client's CURVE key at the handshake"
}
refused "an unknown key gets no reply" "$work/other/intruder_secret"
run "secpold still serves" 0 ctl health
check "the refusal is logged by fingerprint" "$(cat "$log")" \
  "level=warn msg=\"curve key refused\" fingerprint=$intruder_fingerprint"
run "a plain-text client gets no reply" 14 env SECPOL_SERVER_KEY= SECPOL_CLIENT_CERT= \
  "$SECPOLCTL" --endpoint "$endpoint" --timeout 1000 health
run "only one of the two CURVE settings is a usage error" 2 env SECPOL_SERVER_KEY= \
  "$SECPOLCTL" --endpoint "$endpoint" health &&
  has "it names both settings" "$err" 'SECPOL_SERVER_KEY, SECPOL_CLIENT_CERT'
run "secpold still serves after them" 0 ctl health

# --- revocation without a restart -------------------------------------------------------
# Waits (bounded) until secpold's log matches a pattern (with "last", its
# last "keys loaded" line does): a reload is done when it says so.
wait_log() {
  local give_up=$((SECONDS + secpol_deadline))
  until grep -qE -- "$1" "$log"; do
    [ "$SECONDS" -lt "$give_up" ] || { bad "$2" "no /$1/ in the log"; return 1; }
    sleep 0.02
  done
  ok "$2"
}
wait_last_load() {
  local give_up=$((SECONDS + secpol_deadline))
  until grep 'msg="keys loaded"' "$log" | tail -1 | grep -qE -- "$1"; do
    [ "$SECONDS" -lt "$give_up" ] || { bad "$2" "the last keys loaded line is not /$1/"; return 1; }
    sleep 0.02
  done
  ok "$2"
}
run "service works before the removal" 0 as_service health
rm "$work/keys/billing"
wait_last_load 'admin=1 service=0' "the directory's change reloads the keys"
refused "the removed key is refused" "$work/keys/billing_secret"
run "the admin key still works" 0 ctl health
cp "$work/spare/billing" "$work/keys/.billing.tmp" # hidden: not read
kill -HUP "$pid"
wait_log 'msg=reload ' "SIGHUP reloads"
wait_last_load 'admin=1 service=0 generation=([3-9]|[1-9][0-9])' "SIGHUP loads the keys again"
refused "a hidden file is not read" "$work/keys/billing_secret"
mv "$work/keys/.billing.tmp" "$work/keys/billing"
wait_last_load 'admin=1 service=1' "a key put back is loaded"
run "the key put back works" 0 as_service health
printf 'not a certificate\n' >"$work/keys/junk"
wait_log 'msg="key file skipped" path=[^ ]*junk' "a file that is no certificate is skipped, and named"
run "the others still load" 0 as_service health

# --- no secret anywhere -------------------------------------------------------------------
secrets=$(sed -n 's/^ *secret-key = "\(.*\)"$/\1/p' "$work"/*/*_secret)
[ "$(wc -l <<<"$secrets")" -ge 4 ] && ok "every secret key read for the check" || bad "secret keys read" "$secrets"
publics=$(sed -n 's/^ *public-key = "\(.*\)"$/\1/p' "$work/other/intruder")
leaked=""
while read -r key; do
  [ -n "$key" ] && grep -qF -- "$key" "$log" "$tmp"/data/*.mdb && leaked="$leaked $key"
done <<<"$secrets
$publics"
[ -z "$leaked" ] && ok "no secret key, nor the refused key, in the log or the store" ||
  bad "keys leaked" "$leaked"

secpol_finish
