# Shared by the bash end-to-end tests: source it, then call secpol_start.
#   source "$(dirname "$0")/lib.sh"
#   secpol_start NAME [secpold options...]   temp dir $tmp, secpold on $endpoint
#                                            (pid $pid), answering health
#   secpol_spawn ENDPOINT DATA LOG [opts...] another secpold; $spawned_pid once
#                                            it answers health
#   secpol_stop PID                          SIGTERM, bounded wait; returns its
#                                            exit status (137 after a SIGKILL)
#   ctl ARGS...                              secpolctl against $endpoint
#   secpol_store_dump DATA                   the bytes of DATA's store (data.mdb,
#                                            or its PostgreSQL records)
#   run NAME EXIT CMD...                     CMD's stdout in $out, stderr in $err
#   check NAME TEXT PATTERN...               TEXT matches every PATTERN (grep -E)
#   has NAME TEXT PATTERN                    the same with one pattern
#   lacks NAME TEXT PATTERN                  TEXT does not match PATTERN
#   secpol_finish                            stops secpold (it must exit 0), prints
#                                            "N passed, N failed"; exit status
#
# With SECPOL_TEST_STORE=postgresql (the e2e-pg/ copies of the suite, see
# tests/support/pg.h) each data dir's secpold runs on a schema of its own on
# the run's PostgreSQL server (SECPOL_TEST_PG); the same data dir gets the
# same schema again on a restart.
#
# However the script ends (a failed step, set -e, INT/TERM), an EXIT trap
# stops every secpold started here, drops its schemas and removes $tmp. Nothing waits a fixed
# time: a start waits until `secpolctl health` answers, a stop until the
# process is gone, each with a deadline of $secpol_deadline seconds.
set -uo pipefail
: "${SECPOLD:?path of secpold}" "${SECPOLCTL:?path of secpolctl}"

tmp=""
# run's stderr goes here, not to $tmp: a script may run commands before
# secpol_start sets $tmp, and "$tmp/err" would then be /err, one file
# shared by every test running at the same time.
secpol_scratch=$(mktemp -d /tmp/secpol-run-XXXXXX)
pid=""
endpoint=""
spawned_pid=""
secpol_pids=()
secpol_schemas=()
# Seconds a start or a stop may take; a sanitizer build runs several times
# slower (make test-sanitize sets SECPOL_TEST_DEADLINE).
secpol_deadline=${SECPOL_TEST_DEADLINE:-20}
passed=0
failed=0

secpol_cleanup() {
  local p
  for p in "${secpol_pids[@]}"; do secpol_stop "$p" >/dev/null 2>&1; done
  for p in "${secpol_schemas[@]}"; do secpol_psql "DROP SCHEMA IF EXISTS $p CASCADE" >/dev/null 2>&1; done
  [ -n "$tmp" ] && rm -rf "$tmp"
  rm -rf "$secpol_scratch"
}

secpol_psql() {
  "${PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql" -X -q -v ON_ERROR_STOP=1 "$SECPOL_TEST_PG" -c "$1"
}

# Prints the --store option for a data dir: nothing for LMDB; a fresh (or,
# for the same dir, the same) schema on the run's PostgreSQL server.
secpol_store_args() {
  [ "${SECPOL_TEST_STORE:-}" = postgresql ] || return 0
  local schema
  schema="sh_$(printf '%s' "$1" | md5sum | cut -c1-16)"
  secpol_psql "CREATE SCHEMA IF NOT EXISTS $schema" >/dev/null || return 1
  printf -- '--store\n%s&options=-csearch_path%%3D%s\n' "$SECPOL_TEST_PG" "$schema"
}
trap secpol_cleanup EXIT
trap 'exit 130' INT TERM

# Stops with the log's tail when a secpold cannot be started: nothing else
# in the script would mean anything.
secpol_abort() {
  echo "FAIL - $1"
  [ -s "${2:-}" ] && { echo "--- $2"; tail -20 "$2"; }
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
}

secpol_spawn() {
  local spawn_endpoint=$1 data=$2 log=$3 store=()
  shift 3
  mapfile -t store < <(secpol_store_args "$data")
  [ ${#store[@]} -eq 0 ] || secpol_schemas+=("sh_$(printf '%s' "$data" | md5sum | cut -c1-16)")
  "$SECPOLD" --endpoint "$spawn_endpoint" --data-dir "$data" "${store[@]}" "$@" 2>"$log" &
  spawned_pid=$!
  secpol_pids+=("$spawned_pid")
  # Ready means answering. Each try waits up to 200 ms for an answer, so
  # the loop needs no pause of its own; the deadline bounds it.
  local give_up=$((SECONDS + secpol_deadline))
  until "$SECPOLCTL" --endpoint "$spawn_endpoint" --timeout 200 health >/dev/null 2>&1; do
    kill -0 "$spawned_pid" 2>/dev/null || secpol_abort "secpold exited before it answered" "$log"
    [ "$SECONDS" -lt "$give_up" ] ||
      secpol_abort "secpold did not answer within $secpol_deadline s" "$log"
  done
}

secpol_start() {
  local name=$1
  shift
  tmp=$(mktemp -d "/tmp/$name-XXXXXX")
  endpoint="ipc://$tmp/s.sock"
  secpol_spawn "$endpoint" "$tmp/data" "$tmp/secpold.log" "$@"
  pid=$spawned_pid
}

# Prints the state letter of process $1 (R, S, T, ...) from /proc/PID/stat.
secpol_proc_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) } # after COMM, which may hold anything
  printf '%s\n' "${stat%% *}"
}

secpol_stop() {
  local stop_pid=$1 status=0 p
  local remaining=()
  for p in "${secpol_pids[@]}"; do [ "$p" = "$stop_pid" ] || remaining+=("$p"); done
  secpol_pids=("${remaining[@]}")
  # a stopped process acts on SIGTERM once continued; a running one gets no
  # SIGCONT: it discards the SIGSTOP of the ptrace attach LeakSanitizer makes
  # at a sanitized secpold's exit, which then waits for it forever
  if [ "$(secpol_proc_state "$stop_pid")" = T ]; then kill -CONT "$stop_pid" 2>/dev/null; fi
  kill -TERM "$stop_pid" 2>/dev/null
  local give_up=$((SECONDS + secpol_deadline))
  # bash reaps its children as they exit, so kill -0 fails once it is gone;
  # look again shortly until then, within the deadline
  while kill -0 "$stop_pid" 2>/dev/null && [ "$SECONDS" -lt "$give_up" ]; do sleep 0.02; done
  if kill -0 "$stop_pid" 2>/dev/null; then
    echo "secpold $stop_pid still runs $secpol_deadline s after SIGTERM: SIGKILL" >&2
    kill -KILL "$stop_pid" 2>/dev/null
  fi
  wait "$stop_pid" 2>/dev/null || status=$?
  [ "$stop_pid" = "$pid" ] && pid=""
  return "$status"
}

ctl() { "$SECPOLCTL" --endpoint "$endpoint" "$@"; }

# Prints what the store of data dir DATA holds, for checks that something is
# (not) stored: LMDB's data.mdb, or every key and value of its PostgreSQL
# schema (bytes outside printable ASCII escaped as \ooo).
secpol_store_dump() {
  if [ "${SECPOL_TEST_STORE:-}" = postgresql ]; then
    local schema
    schema="sh_$(printf '%s' "$1" | md5sum | cut -c1-16)"
    "${PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql" -X -q -At \
      "$SECPOL_TEST_PG&options=-csearch_path%3D$schema" \
      -c "SELECT encode(k, 'escape') || ' ' || encode(v, 'escape') FROM secpol_kv"
  else
    cat "$1/data.mdb"
  fi
}
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; }

run() {
  local name=$1 want=$2
  shift 2
  out=$("$@" 2>"$secpol_scratch/err"); code=$?
  err=$(cat "$secpol_scratch/err")
  if [ "$code" -eq "$want" ]; then return 0; fi
  bad "$name" "exit $code, expected $want; stdout: $out; stderr: $err"
  return 1
}

check() {
  local name=$1 text=$2
  shift 2
  for pattern in "$@"; do
    if ! grep -qE -- "$pattern" <<<"$text"; then
      bad "$name" "no match for /$pattern/ in: $text"
      return
    fi
  done
  ok "$name"
}
has() { check "$1" "$2" "$3"; }
lacks() {
  if grep -qE -- "$3" <<<"$2"; then bad "$1" "unexpected /$3/ in: $2"; else ok "$1"; fi
}

secpol_finish() {
  if [ -n "$pid" ]; then
    local status=0
    secpol_stop "$pid" || status=$?
    if [ "$status" -eq 0 ]; then ok "secpold exits 0 on SIGTERM"; else bad "secpold exits 0 on SIGTERM" "exit status $status"; fi
  fi
  echo "$passed passed, $failed failed"
  if [ "$failed" -ne 0 ]; then
    echo "--- secpold log"; tail -20 "$tmp/secpold.log"
    exit 1
  fi
  if [ "$passed" -eq 0 ]; then
    echo "nothing was checked"
    exit 1
  fi
  exit 0
}
