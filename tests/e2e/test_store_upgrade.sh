#!/usr/bin/env bash
# Upgrades: a store written by schema 1 (tests/data/schema1, made by the
# previous release) is migrated in place when secpold opens it, says so
# once, and serves everything it held; a store stamped by a newer schema
# is refused with a clear error and left as it was.
source "$(dirname "$0")/lib.sh"
data=${SECPOL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/data/schema1
made_at=1796131759

secpol_start store-upgrade --test-clock
old="$tmp/old"
install -d -m 0700 "$old"
gzip -dc "$data/data.mdb.gz" >"$old/data.mdb" && chmod 0600 "$old/data.mdb"
install -m 0600 "$data/secret.key" "$old/"
run "mdb_dump reads the kept store" 0 mdb_dump -p -s meta "$old" &&
  has "it is a schema 1 store" "$out" '^ \\01\\00\\00\\00$'

# --- the upgrade --------------------------------------------------------------------
upgraded="ipc://$tmp/upgraded.sock"
secpol_spawn "$upgraded" "$old" "$tmp/upgraded.log" --test-clock
up_pid=$spawned_pid
uctl() { "$SECPOLCTL" --endpoint "$upgraded" "$@"; }
log=$(cat "$tmp/upgraded.log")
has "the upgrade is logged" "$log" 'level=info msg="store upgraded" from=1 to=2 '
run "health" 0 uctl health -o text && has "the store is at schema 2 now" "$out" '^schema_version: 2$'
run "stats" 0 uctl stats -o text &&
  check "stats say when and from what" "$out" '^store\.upgraded_from: 1$' '^store\.upgraded_at: [1-9]' \
    '^store\.created_at: 0$' '^store\.schema_version: 2$'
# what the store held, read back at the time it was made
offset=$((made_at + 60 - $(date +%s)))
run "the clock back to when the store was made" 0 uctl call TestClockService/SetOffset "{\"offset_seconds\": $offset}"
run "the policy" 0 uctl policy get w-old -o text && has "its timeout" "$out" '^session_timeout_minutes: 45$'
run "bob's link" 0 uctl token verify - password-reset <<<"spl_YRU9YpCMspkkYHDD8N9akZ3raSyk" &&
  has "the link of bob" "$out" '"subject_id": "bob"'
run "alice's session" 0 uctl session validate - <<<"sps_udknHOnESJ85hSODBVHKeG2w7vIA" &&
  has "the session of alice" "$out" '"subject_id": "alice"'
run "carol's failures" 0 uctl lockout status w-old carol --kind login -o json &&
  has "one failure" "$out" '"failures": 1'
run "dave's password change" 0 uctl account status w-old dave -o text &&
  has "when dave changed it" "$out" "^password_changed_at: $made_at\$"
run "a write on the upgraded store" 0 uctl token consume - password-reset <<<"spl_YRU9YpCMspkkYHDD8N9akZ3raSyk"
secpol_stop "$up_pid" && ok "the upgraded secpold stops cleanly" || bad "the upgraded secpold stops cleanly"

# --- a second start: nothing to upgrade -----------------------------------------------------
secpol_spawn "$upgraded" "$old" "$tmp/again.log" --test-clock
up_pid=$spawned_pid
lacks "no upgrade the second time" "$(cat "$tmp/again.log")" 'store upgraded'
run "still schema 2" 0 uctl health -o text && has "schema 2" "$out" '^schema_version: 2$'
run "the consume made after the upgrade holds" 5 uctl token verify - password-reset <<<"spl_YRU9YpCMspkkYHDD8N9akZ3raSyk"
secpol_stop "$up_pid" && ok "it stops cleanly again" || bad "it stops cleanly again"

# --- a store of a newer schema is refused -----------------------------------------------------
mdb_dump -p -s meta "$old" | sed 's/^ \\02\\00\\00\\00$/ c\\00\\00\\00/' >"$tmp/meta.txt"
run "stamp schema 99, as a newer secpold would" 0 mdb_load -s meta "$old" <"$tmp/meta.txt"
cp "$old/data.mdb" "$tmp/before.mdb"
run "secpold refuses a newer store" 1 "$SECPOLD" --endpoint "ipc://$tmp/newer.sock" --data-dir "$old" &&
  has "and says why" "$err" 'cannot open store in .*: store was written by a newer secpold \(schema version too new\)'
cmp -s "$old/data.mdb" "$tmp/before.mdb" && ok "the refused store is left as it was" ||
  bad "the refused store is left as it was"

secpol_finish
