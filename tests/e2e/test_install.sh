#!/usr/bin/env bash
# `cmake --install --component client` gives a client author the library,
# the public headers (ours, the version header and the generated secpol/v1
# ones, never the store's), a pkg-config file and a CMake package. A program
# built only from those, with pkg-config and with find_package(SecpolClient),
# finds the library at run time without LD_LIBRARY_PATH and talks to a real
# secpold.
source "$(dirname "$0")/lib.sh"
: "${SECPOL_BUILD_DIR:?}" "${SECPOL_SOURCE_DIR:?}"
secpol_start secpol-install
unset LD_LIBRARY_PATH
prefix="$tmp/prefix"
example="$SECPOL_SOURCE_DIR/clients/examples/health_check.c"

# The client component: what a client author installs (a full install
# holds it too, with secpold and secpolctl).
run "cmake --install --component client" 0 \
  cmake --install "$SECPOL_BUILD_DIR" --prefix "$prefix" --component client || secpol_finish
ok "cmake --install --component client into a temp prefix"
if [ -z "$(find "$prefix" -name 'secpold*' -o -name 'secpolctl*')" ]; then ok "the client component holds no server"; else bad "the client component holds no server"; fi

# --- headers --------------------------------------------------------------
for header in secpol/secpol_client.h secpol/secpol_client_version.h secpol/secpol_status.h \
  secpol/v1/health.pb-c.h secpol/v1/policy.pb-c.h; do
  if [ -f "$prefix/include/$header" ]; then ok "installs $header"; else bad "installs $header"; fi
done
internal=$(find "$prefix" -path '*store*' -o -name 'server.h' -o -name 'call.h')
if [ -z "$internal" ]; then ok "installs no internal header"; else bad "installs no internal header" "$internal"; fi
includes=$(grep -rhE '^#include' "$prefix/include" | sort -u)
lacks "public headers include no czmq, libzmq or libsodium header" "$includes" \
  '[<"/](czmq|zmq|sodium)\.h'

# --- pkg-config -----------------------------------------------------------
pc=$(find "$prefix" -name secpol-client.pc | head -1)
if [ -n "$pc" ]; then ok "installs secpol-client.pc"; else bad "installs secpol-client.pc"; secpol_finish; fi
export PKG_CONFIG_PATH="$(dirname "$pc")"
run "pkg-config --cflags" 0 pkg-config --cflags secpol-client
read -r -a cflags <<<"$out"
if [ "${#cflags[@]}" -eq 1 ] && [ "$(realpath "${cflags[0]#-I}")" = "$(realpath "$prefix/include")" ]; then
  ok "--cflags is the include dir alone, no czmq dependency flags"
else
  bad "--cflags is the include dir alone, no czmq dependency flags" "$out"
fi
run "pkg-config --libs" 0 pkg-config --libs secpol-client &&
  lacks "--libs does not link czmq, libzmq or libsodium into programs" "$out" '-l(czmq|zmq|sodium)'
run "pkg-config --modversion" 0 pkg-config --modversion secpol-client
version=$out
# Every installed header compiles on its own with those flags alone.
flags=$(pkg-config --cflags secpol-client)
broken=""
for header in $(cd "$prefix/include" && find secpol -name '*.h'); do
  echo "#include <$header>" | cc -fsyntax-only -Wall -Wextra -Werror $flags -x c - 2>>"$tmp/headers.err" ||
    broken="$broken $header"
done
if [ -z "$broken" ]; then ok "every installed header compiles alone"; else bad "every installed header compiles alone" "$broken: $(cat "$tmp/headers.err")"; fi

run "build the example with pkg-config" 0 bash -c \
  'cc -Wall -Wextra -Werror "$1" $(pkg-config --cflags --libs secpol-client) \
     -Wl,-rpath,"$(pkg-config --variable=libdir secpol-client)" -o "$2"' _ \
  "$example" "$tmp/health_check" && ok "build the example with pkg-config"
# secpol_start returned once secpold answered: one call must succeed.
run "pkg-config example answers, no LD_LIBRARY_PATH" 0 "$tmp/health_check" "$endpoint" &&
  has "pkg-config example prints SERVING" "$out" "^SERVING $version\$"
run "pkg-config example: a malformed endpoint exits 2" 2 "$tmp/health_check" "tcp://127.0.0.1:99999" &&
  has "pkg-config example names the reason" "$err" 'INVALID_ARGUMENT'

# --- CMake package ----------------------------------------------------------
mkdir -p "$tmp/project"
cp "$example" "$tmp/project/"
cat >"$tmp/project/version.c" <<'C'
#include <secpol/secpol_client.h>
#include <stdio.h>
#include <string.h>
int
main (void)
{
    printf ("%s %s %d\n", SECPOL_CLIENT_VERSION, secpol_client_version (),
            SECPOL_CLIENT_VERSION_NUMBER);
    return strcmp (SECPOL_CLIENT_VERSION, secpol_client_version ()) != 0;
}
C
cat >"$tmp/project/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(secpol_consumer LANGUAGES C)
find_package(SecpolClient $version REQUIRED)
add_executable(health_check health_check.c)
target_link_libraries(health_check PRIVATE SecpolClient::secpol-client)
add_executable(version version.c)
target_link_libraries(version PRIVATE SecpolClient::secpol-client)
CMAKE
run "configure a project with find_package(SecpolClient)" 0 \
  cmake -S "$tmp/project" -B "$tmp/project/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" && ok "find_package(SecpolClient $version)"
run "build it" 0 cmake --build "$tmp/project/build" && ok "build a project with find_package"
run "find_package example answers, no LD_LIBRARY_PATH" 0 "$tmp/project/build/health_check" "$endpoint" &&
  has "find_package example prints SERVING" "$out" "^SERVING $version\$"
run "version macros and function agree" 0 "$tmp/project/build/version" &&
  has "version is the package version" "$out" "^$version $version [0-9]+\$"
linked=$(readelf -d "$tmp/project/build/health_check" | grep NEEDED)
lacks "the program needs no czmq of its own" "$linked" 'czmq|libzmq|sodium'

# A version the package is not compatible with is refused.
mkdir -p "$tmp/future"
printf 'cmake_minimum_required(VERSION 3.18)\nproject(f LANGUAGES C)\nfind_package(SecpolClient 99 REQUIRED)\n' \
  >"$tmp/future/CMakeLists.txt"
run "find_package(SecpolClient 99) fails" 1 \
  cmake -S "$tmp/future" -B "$tmp/future/build" -DCMAKE_PREFIX_PATH="$prefix" &&
  has "it names the version found" "$err" "$version"

# --- a full install: server, tools, systemd unit, Python package ------------
full="$tmp/full"
run "cmake --install (every component)" 0 cmake --install "$SECPOL_BUILD_DIR" --prefix "$full" ||
  secpol_finish
for file in bin/secpold bin/secpolctl bin/secpol-bench lib/systemd/system/secpold.service \
  share/secpol/examples/login_flow.py share/secpol/examples/health_check.c; do
  if [ -e "$full/$file" ]; then ok "installs $file"; else bad "installs $file"; fi
done
run "the installed load generator runs" 0 "$full/bin/secpol-bench" --help
unit="$full/lib/systemd/system/secpold.service"
check "the unit starts the secpold of its prefix, hardened" "$(cat "$unit")" \
  "^ExecStart=$full/bin/secpold --data-dir /var/lib/secpol/data$" '^DynamicUser=yes$' \
  '^StateDirectory=secpol$' '^ProtectSystem=strict$' '^NoNewPrivileges=yes$' \
  '^SystemCallFilter=@system-service$' '^CapabilityBoundingSet=$'
if command -v systemd-analyze >/dev/null; then
  run "systemd-analyze verify" 0 systemd-analyze verify "$unit" && ok "systemd-analyze verify accepts the unit"
  run "systemd-analyze security" 0 systemd-analyze security --offline=true "$unit"
  exposure=$(sed -n 's/.*Overall exposure level for secpold.service: \([0-9.]*\).*/\1/p' <<<"$out")
  if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e < 2.0) }'; then
    ok "systemd-analyze security: exposure $exposure, under 2.0"
  else
    bad "systemd-analyze security: exposure under 2.0" "$exposure"
  fi
else
  echo "skip - systemd-analyze is not installed: the unit is not verified"
fi
pydir=$(find "$full" -type d -name dist-packages | head -1)
run "the installed Python package calls secpold" 0 env PYTHONPATH="$pydir" PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -c 'import sys, secpol
from secpol.v1 import health_pb2
print(secpol.__file__)
print(health_pb2.ServingStatus.Name(secpol.Client(sys.argv[1]).Health.Check().status))' "$endpoint" &&
  check "the installed Python package answers SERVING" "$out" "^$pydir/secpol/__init__.py\$" '^SERVING$'
generated=$(git -C "$SECPOL_SOURCE_DIR" ls-files '*_pb2.py' '*.pb-c.c' '*.pb-c.h' 2>/dev/null)
if [ -z "$generated" ]; then ok "no generated code is committed"; else bad "no generated code is committed" "$generated"; fi

secpol_finish
