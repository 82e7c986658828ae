#!/usr/bin/env bash
# secpolctl backup PATH (AdminService/Backup) while secpold serves, and a
# restore by starting secpold on the copy: the data comes back, tokens and
# sessions too (secret.key travels with data.mdb). Bad paths are refused
# with the field named, an existing one is never overwritten.
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-backup

run "a policy to back up" 0 ctl policy set --create w-bk session_timeout_minutes=45
run "a session to back up" 0 ctl session create w-bk alice
session=$(sed -n 's/.*"session_token": "\(sps_[0-9A-Za-z]*\)".*/\1/p' <<<"$out")
run "a link to back up" 0 ctl token issue w-bk password-reset bob
link=$(sed -n 's/.*"token": "\(spl_[0-9A-Za-z]*\)".*/\1/p' <<<"$out")
run "a lockout failure to back up" 0 ctl call LockoutService/RecordFailure \
  '{"workspace_id": "w-bk", "subject_id": "carol", "kind": "LOCKOUT_KIND_LOGIN"}'

# --- backup while secpold serves -------------------------------------------------
mkdir -p "$tmp/backups"
run "secpolctl backup" 0 ctl backup "$tmp/backups/one" &&
  check "it says what it wrote" "$out" "^path: $tmp/backups/one\$" '^bytes: [1-9][0-9]*$' '^duration_ms: [0-9]+$'
modes=$(stat -c '%a %n' "$tmp/backups/one" "$tmp/backups/one/data.mdb" "$tmp/backups/one/secret.key" 2>&1)
check "the copy is for its owner only" "$modes" "^700 $tmp/backups/one\$" \
  "^600 $tmp/backups/one/data\.mdb\$" "^600 $tmp/backups/one/secret\.key\$"
cmp -s "$tmp/data/secret.key" "$tmp/backups/one/secret.key" && ok "the key is the store's" ||
  bad "the key is the store's"
run "secpold serves after the backup" 0 ctl health
grep -q 'msg=backup path=' "$tmp/secpold.log" && ok "the backup is logged" || bad "the backup is logged"
run "a change after the backup" 0 ctl policy set w-bk session_timeout_minutes=50
run "the link is consumed after the backup" 0 ctl token consume - password-reset <<<"$link"

# --- refusals ----------------------------------------------------------------------
run "an existing path is refused" 6 ctl backup "$tmp/backups/one" &&
  has "never overwrites" "$err" 'exists already; a backup never overwrites'
run "a relative path is refused" 3 ctl backup backups/two &&
  has "the field is named" "$err" 'path: must be absolute'
run "a path with .. is refused" 3 ctl backup "$tmp/backups/../backups/two" &&
  has "plain paths only" "$err" 'path: must be a plain path'
run "a path in the data dir is refused" 3 ctl backup "$tmp/data/copy" &&
  has "outside the data dir" "$err" 'path: must be outside the data dir'
run "a missing parent is refused" 9 ctl backup "$tmp/nowhere/two" &&
  has "the parent must exist" "$err" 'cannot be used on secpold.s host'
run "an empty path is refused" 3 ctl backup ""
[ ! -e "$tmp/backups/two" ] && ok "nothing made for a refused path" || bad "nothing made for a refused path"

# --- stats --------------------------------------------------------------------------
run "secpolctl stats" 0 ctl stats &&
  check "stats: tables, map, readers, commits" "$out" '^store\.tables\[[0-9]+\]\.name: token$' \
    '^store\.map_size: [1-9]' '^store\.readers_used: [1-9]' '^writes\.commits: [1-9]' \
    '^writes\.last_commit_at_ms: [1-9]' '^writes\.batch_sizes\[0\]\.up_to: 1$'
run "stats -o json" 0 ctl stats -o json && has "stats -o json" "$out" '"disk_free": '

# --- restore: secpold on the copy -----------------------------------------------------
restored="ipc://$tmp/restored.sock"
secpol_spawn "$restored" "$tmp/backups/one" "$tmp/restored.log"
rctl() { "$SECPOLCTL" --endpoint "$restored" "$@"; }
run "the copy serves the policy as it was" 0 rctl policy get w-bk -o text &&
  has "the backup's value" "$out" '^session_timeout_minutes: 45$'
run "the session validates on the copy" 0 rctl session validate - <<<"$session" &&
  has "alice's session" "$out" '"subject_id": "alice"'
run "the link, consumed after the backup, is live in the copy" 0 rctl token verify - password-reset <<<"$link"
run "the lockout counter came back" 0 rctl lockout status w-bk carol --kind login -o json &&
  has "one failure" "$out" '"failures": 1'
secpol_stop "$spawned_pid" && ok "the restored secpold stops cleanly" || bad "the restored secpold stops cleanly"

secpol_finish
