#!/usr/bin/env bash
# secpolctl with several endpoints (--endpoint A,B; docs/SCALING.md): two
# real secpold, each on its own store. Calls go to either; with A stopped
# every call is answered by B (reads and writes alike, a write once); with
# both stopped it fails fast naming both; a malformed list is a usage error
# (exit 2) before any connection; --help documents the list.
source "$(dirname "$0")/lib.sh"
secpol_start secpolctl-multi
a="$endpoint"
a_pid="$pid"
b="ipc://$tmp/b.sock"
secpol_spawn "$b" "$tmp/b" "$tmp/b.log"
b_pid="$spawned_pid"
both="$a,$b"
token_of() { sed -n 's/.*"token": "\(spl_[0-9A-Za-z]*\)".*/\1/p'; }

run "health through A,B" 0 "$SECPOLCTL" -e "$both" health &&
  has "health through A,B answers" "$out" 'SERVING'
# A token issued on B alone: B says OK, A says NOT_FOUND (exit 5).
run "issue on B" 0 "$SECPOLCTL" -e "$b" token issue acme password-reset alice
tb=$(token_of <<<"$out")
seen_a=0 seen_b=0
for _ in $(seq 1 200); do
  "$SECPOLCTL" -e "$both" token verify "$tb" PASSWORD_RESET >/dev/null 2>&1
  case $? in 0) seen_b=1 ;; 5) seen_a=1 ;; *) bad "verify through A,B" "exit $?" ;; esac
  [ $seen_a = 1 ] && [ $seen_b = 1 ] && break
done
if [ $seen_a = 1 ] && [ $seen_b = 1 ]; then ok "calls through A,B reach both"; else bad "calls through A,B reach both" "A $seen_a B $seen_b"; fi

# --- A stopped: B answers everything -------------------------------------------
secpol_stop "$a_pid"
for i in 1 2 3 4 5 6; do
  run "A stopped: verify $i answered by B" 0 "$SECPOLCTL" -e "$both" token verify "$tb" PASSWORD_RESET
done
run "A stopped: consume through A,B" 0 "$SECPOLCTL" -e "$both" token consume "$tb" PASSWORD_RESET
run "the consume was done once, on B" 5 "$SECPOLCTL" -e "$b" token verify "$tb" PASSWORD_RESET

# --- both stopped: fails fast, names the list -----------------------------------
secpol_stop "$b_pid"
run "both stopped: exit 14" 14 "$SECPOLCTL" -e "$both" -t 10000 health &&
  has "both stopped: names both" "$err" "cannot reach secpold at $a,$b"
SECPOL_ENDPOINT="$both" run "SECPOL_ENDPOINT takes the list too" 14 "$SECPOLCTL" health

# --- malformed lists ----------------------------------------------------------------
for list in "$a," ",$a" "$a,,$b" "$a,tcp://127.0.0.1:99999" "$a,nonsense"; do
  run "malformed list \"$list\": exit 2" 2 "$SECPOLCTL" -e "$list" health &&
    has "malformed list \"$list\" is named" "$err" "malformed endpoint"
done
run "--help" 0 "$SECPOLCTL" --help &&
  has "--help documents several endpoints" "$out" "E1,E2"
secpol_finish
