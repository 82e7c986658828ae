#!/usr/bin/env bash
# `cmake --install` gives a client author the library, the headers (ours and
# the generated ones) and a pkg-config file; a program built only from those
# talks to a real secpold.
source "$(dirname "$0")/lib.sh"
: "${SECPOL_BUILD_DIR:?}" "${SECPOL_SOURCE_DIR:?}"
secpol_start secpol-install

run "cmake --install" 0 cmake --install "$SECPOL_BUILD_DIR" --prefix "$tmp/prefix" || secpol_finish
for header in secpol/secpol_client.h secpol/v1/health.pb-c.h secpol/v1/policy.pb-c.h; do
  if [ -f "$tmp/prefix/include/$header" ]; then ok "installs $header"; else bad "installs $header"; fi
done
pc=$(find "$tmp/prefix" -name secpol-client.pc | head -1)
if [ -n "$pc" ]; then ok "installs secpol-client.pc"; else bad "installs secpol-client.pc"; secpol_finish; fi
export PKG_CONFIG_PATH="$(dirname "$pc")"
run "build the example from the installed files" 0 bash -c \
  'cc -Wall -Wextra "$1" $(pkg-config --cflags --libs secpol-client) -o "$2"' _ \
  "$SECPOL_SOURCE_DIR/clients/examples/health_check.c" "$tmp/health_check" || secpol_finish
libdir=$(find "$tmp/prefix" -name 'libsecpol-client.so*' -printf '%h\n' | head -1)

# secpol_start returned once secpold answered: one call must succeed.
run "installed example answers" 0 env LD_LIBRARY_PATH="$libdir" "$tmp/health_check" "$endpoint" &&
  has "installed example prints SERVING" "$out" '^SERVING '

secpol_finish
