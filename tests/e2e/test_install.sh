#!/usr/bin/env bash
# `cmake --install` gives a client author the library, the headers (ours and
# the generated ones) and a pkg-config file; a program built only from those
# talks to a real secpold.
set -euo pipefail
: "${SECPOLD:?}" "${SECPOL_BUILD_DIR:?}" "${SECPOL_SOURCE_DIR:?}"
tmp=$(mktemp -d /tmp/secpol-install-XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

cmake --install "$SECPOL_BUILD_DIR" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/ | head -1)
test -f "$tmp/prefix/include/secpol/secpol_client.h"
test -f "$tmp/prefix/include/secpol/v1/health.pb-c.h"
test -f "$tmp/prefix/include/secpol/v1/policy.pb-c.h"
export PKG_CONFIG_PATH="$(dirname "$(find "$tmp/prefix" -name secpol-client.pc)")"
cc -Wall -Wextra "$SECPOL_SOURCE_DIR/clients/examples/health_check.c" \
   $(pkg-config --cflags --libs secpol-client) -o "$tmp/health_check"

"$SECPOLD" --endpoint "ipc://$tmp/s.sock" --data-dir "$tmp/data" 2>"$tmp/log" &
pid=$!
out=""
for _ in $(seq 50); do
  if out=$(LD_LIBRARY_PATH="$(find "$tmp/prefix" -name 'libsecpol-client.so*' -printf '%h\n' | head -1)" \
             "$tmp/health_check" "ipc://$tmp/s.sock" 2>/dev/null); then
    break
  fi
  sleep 0.1
done
echo "example printed: $out"
case "$out" in
  "SERVING "*) echo "1 passed, 0 failed" ;;
  *) echo "0 passed, 1 failed"; cat "$tmp/log"; exit 1 ;;
esac
