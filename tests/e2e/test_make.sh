#!/usr/bin/env bash
# The top-level Makefile as a new user meets it: `make build` and `make test`
# show CMake's progress without gmake's "Entering directory" lines (nor a
# jobserver warning under `make -j`), and `make run` leaves it to secpold to
# say that it listens, once it has bound. The Makefile runs here on a tiny
# CMake project (its targets work on the project in the current directory),
# so the test is quick and never rebuilds the tree the suite runs from;
# `make run` execs the real secpold, linked into the tiny build dir.
source "$(dirname "$0")/lib.sh"
: "${SECPOL_SOURCE_DIR:?}"
tmp=$(mktemp -d /tmp/secpol-make-XXXXXX)
project="$tmp/project"
mkdir -p "$project"
cat >"$project/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(tiny LANGUAGES C)
add_library(tiny_lib STATIC lib.c)
add_executable(tiny main.c)
target_link_libraries(tiny PRIVATE tiny_lib)
enable_testing()
add_test(NAME tiny COMMAND tiny)
CMAKE
echo 'int tiny_lib (void) { return 0; }' >"$project/lib.c"
echo 'int tiny_lib (void); int main (void) { return tiny_lib (); }' >"$project/main.c"
# -o deps: the Debian packages are there (this build needed them); never
# let a test reach for apt-get.
# From the project's directory, as a user types it (make -C would print its
# own "Entering directory" and hide what the test looks for).
# A make that runs this test (CI's `make test`) exports MAKELEVEL and
# MAKEFLAGS, which would make ours a sub-make that prints its directory: a
# user's shell has neither.
mk() { (cd "$project" && exec env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make \
  -f "$SECPOL_SOURCE_DIR/Makefile" -o deps BUILD="$project/build" JOBS=2 "$@"); }

run "make -j3 build" 0 mk -j3 build &&
  has "make build shows CMake's progress" "$out" '\[100%\] Built target tiny'
lacks "make build: no Entering/Leaving directory" "$out$err" 'Entering directory|Leaving directory'
lacks "make build: no jobserver warning" "$err" 'jobserver'

run "make test" 0 mk test &&
  has "make test runs ctest" "$out" '100% tests passed'
lacks "make test: no Entering/Leaving directory" "$out$err" 'Entering directory|Leaving directory'

# make run: the real secpold in the tiny build dir.
ln -s "$SECPOLD" "$project/build/secpold"
run_endpoint="ipc://$tmp/run.sock"
(cd "$project" && exec env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make \
  -f "$SECPOL_SOURCE_DIR/Makefile" -o deps BUILD="$project/build" \
  run ENDPOINT="$run_endpoint" DATA_DIR="$tmp/data") >"$tmp/run.out" 2>"$tmp/run.err" &
make_pid=$!
secpol_pids+=("$make_pid") # the EXIT trap stops it; make passes SIGTERM on to secpold
give_up=$((SECONDS + secpol_deadline))
until "$SECPOLCTL" --endpoint "$run_endpoint" --timeout 200 health >/dev/null 2>&1; do
  kill -0 "$make_pid" 2>/dev/null || secpol_abort "make run exited before secpold answered" "$tmp/run.err"
  [ "$SECONDS" -lt "$give_up" ] || secpol_abort "make run: no answer within $secpol_deadline s" "$tmp/run.err"
done
ok "make run serves"
# secpold is make's child (the recipe execs it): stop it, and make ends
# with its status.
secpold_pid=$(pgrep -P "$make_pid")
if [ -n "$secpold_pid" ]; then ok "make run: secpold is make's child"; else bad "make run: secpold is make's child"; fi
kill -TERM $secpold_pid
give_up=$((SECONDS + secpol_deadline))
while kill -0 "$make_pid" 2>/dev/null && [ "$SECONDS" -lt "$give_up" ]; do sleep 0.02; done
wait "$make_pid"
status=$?
if [ "$status" -eq 0 ]; then ok "make run ends with secpold's exit 0 on SIGTERM"; else bad "make run ends with secpold's exit 0 on SIGTERM" "status $status"; fi
run_out=$(cat "$tmp/run.out")
run_err=$(cat "$tmp/run.err")
lacks "make run does not claim to listen before secpold has bound" "$run_out" '^secpold: listening'
has "make run says it starts secpold" "$run_out" "^starting secpold on $run_endpoint"
has "make run shows the secpolctl hint" "$run_out" "secpolctl --endpoint $run_endpoint health"
has "secpold itself says it listens" "$run_err" "msg=listening endpoint=$run_endpoint"
lacks "make run: no Entering/Leaving directory" "$run_out$run_err" 'Entering directory|Leaving directory'

secpol_finish
