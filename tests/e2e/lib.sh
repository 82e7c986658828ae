# Shared by the bash end-to-end tests: source it, then call secpol_start.
#   source "$(dirname "$0")/lib.sh"
#   secpol_start NAME [secpold options...]   temp dir $tmp, secpold on $endpoint
#   ctl ARGS...                              secpolctl against it
#   run NAME EXIT CMD...                     CMD's stdout in $out, stderr in $err
#   check NAME TEXT PATTERN...               TEXT matches every PATTERN (grep -E)
#   has NAME TEXT PATTERN                    the same with one pattern
#   lacks NAME TEXT PATTERN                  TEXT does not match PATTERN
#   secpol_finish                            "N passed, N failed"; exit status
set -uo pipefail
: "${SECPOLD:?path of secpold}" "${SECPOLCTL:?path of secpolctl}"

tmp=""
pid=""
passed=0
failed=0

secpol_cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  [ -n "$tmp" ] && rm -rf "$tmp"
}

secpol_start() {
  local name=$1
  shift
  tmp=$(mktemp -d "/tmp/$name-XXXXXX")
  trap secpol_cleanup EXIT
  endpoint="ipc://$tmp/s.sock"
  "$SECPOLD" --endpoint "$endpoint" --data-dir "$tmp/data" "$@" 2>"$tmp/secpold.log" &
  pid=$!
  for _ in $(seq 100); do
    ctl --timeout 200 health >/dev/null 2>&1 && break
    sleep 0.1
  done
}

ctl() { "$SECPOLCTL" --endpoint "$endpoint" "$@"; }
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; }

run() {
  local name=$1 want=$2
  shift 2
  out=$("$@" 2>"$tmp/err"); code=$?
  err=$(cat "$tmp/err")
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
  echo "$passed passed, $failed failed"
  if [ "$failed" -ne 0 ]; then
    echo "--- secpold log"; tail -20 "$tmp/secpold.log"
    exit 1
  fi
  exit 0
}
