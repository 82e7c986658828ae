#!/usr/bin/env bash
# OPERATIONS.md's backup and restore commands, run as written against a
# running secpold: the copy is made while it serves, is for its owner only
# (directory 0700, data.mdb 0600), and a secpold started on it serves what
# was stored when it was taken.
source "$(dirname "$0")/lib.sh"

if ! command -v mdb_copy >/dev/null; then
  echo "FAIL - mdb_copy is not installed: it comes with lmdb-utils (scripts/install-deps)"
  exit 1
fi
docs=${SECPOL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/docs/OPERATIONS.md

# The sh block after the comment in OPERATIONS.md that names this test and
# says MARKER.
doc_block() {
  awk -v marker="$1" 'index($0, "test_secpold_backup.sh " marker) { found = 1; next }
    found && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }' "$docs"
}
backup_block=$(doc_block "runs this block as written")
restore_block=$(doc_block "runs this block with its own backup's name")
example=$(grep -o 'backup/[0-9]\{8\}T[0-9]\{6\}Z\.[A-Za-z0-9]*' <<<"$restore_block" | head -1)

secpol_start secpold-backup
# The layout OPERATIONS.md assumes: the data dir is var/data.
mkdir -p "$tmp/ops/var" && ln -s "$tmp/data" "$tmp/ops/var/data" && cd "$tmp/ops" || exit 1
check "OPERATIONS.md has the backup and restore blocks" "$backup_block
$restore_block" 'mdb_copy -c var/data' 'var/data/$'

policy() { # WORKSPACE MINUTES: sets its session timeout
  ctl call /secpol.v1.PolicyService/UpdatePolicy "{\"workspaceId\": \"$1\", \"actor\": \"backup-test\",
    \"policy\": {\"sessionTimeoutMinutes\": $2}, \"updateMask\": [\"session_timeout_minutes\"]}"
}
run "a policy to back up" 0 policy w-backup 45
run "a session to back up" 0 ctl session create w-backup alice
session=$(sed -n 's/.*"session_token": "\(sps_[0-9A-Za-z]*\)".*/\1/p' <<<"$out")

# --- backup, while secpold serves ---------------------------------------------
run "the backup command works as written" 0 bash -c "$backup_block"
dest=$out
modes=$(stat -c '%a %n' backup "$dest" "$dest/data.mdb" 2>&1)
modes=$(stat -c '%a %n' backup "$dest" "$dest/data.mdb" "$dest/secret.key" 2>&1)
check "the copy is for its owner only" "$modes" '^700 backup$' "^700 $dest\$" "^600 $dest/data\.mdb\$" \
  "^600 $dest/secret\.key\$"
run "a second backup works too" 0 bash -c "$backup_block"
if [ -n "$out" ] && [ "$out" != "$dest" ] && [ -f "$out/data.mdb" ]; then
  ok "each backup has its own directory"
else
  bad "each backup has its own directory" "first $dest, second $out"
fi
run "secpold serves during and after the backups" 0 ctl health && has "still SERVING" "$out" SERVING
run "a change after the backup" 0 policy w-backup 50

# --- restore --------------------------------------------------------------------
status=0
secpol_stop "$pid" || status=$?
if [ "$status" -eq 0 ]; then ok "secpold stops for the restore"; else bad "secpold stops for the restore" "exit $status"; fi
if [ -n "$example" ]; then
  run "the restore commands work" 0 bash -c "${restore_block//$example/$dest}"
else
  bad "the restore block names an example backup"
fi
modes=$(stat -c '%a %n' var/data var/data/data.mdb 2>&1)
check "the restored store is for its owner only" "$modes" '^700 var/data$' '^600 var/data/data\.mdb$'
endpoint="ipc://$tmp/restored.sock"
secpol_spawn "$endpoint" "$tmp/ops/var/data" "$tmp/restored.log"
pid=$spawned_pid
run "the restored store serves" 0 ctl call /secpol.v1.PolicyService/GetPolicy '{"workspaceId": "w-backup"}' &&
  check "it holds what the backup held" "$out" '"session_timeout_minutes": 45,' '"version": 1,'
# the key came back with the store: the session's keyed hash still matches
run "a session of the backup still validates" 0 ctl session validate - <<<"$session" &&
  has "the restored session" "$out" '"subject_id": "alice"'

secpol_finish
