#!/bin/sh
# man-from-help.sh PROGRAM OUTPUT VERSION
#
# Writes the man page (section 1) of PROGRAM to OUTPUT from `PROGRAM --help`
# and, for every command that help lists under "Commands:", from
# `PROGRAM COMMAND --help` (and so on down), through help2roff.awk. Run at
# build time by clients/cli/CMakeLists.txt; needs only sh and awk, and
# nothing but --help from the program (which contacts no server).
set -eu
program=$1
output=$2
version=$3
here=$(dirname "$0")
name=$(basename "$program")
case $name in
  secpolctl) see_also=secpold ;;
  *) see_also=secpolctl ;;
esac

# The names of the commands a help text (on stdin) lists under "Commands:".
commands() {
  awk '/^[^ ].*:$/ { listing = ($0 == "Commands:"); next }
       listing && /^  [a-z]/ { print $1 }'
}

# The help of "PROGRAM WORDS...", then that of each of its commands. A
# subshell each, so the variables of one level stay its own.
walk() (
  help=$("$program" "$@" --help)
  if [ $# -gt 0 ]; then
    printf '@@command %s\n' "$*"
  fi
  printf '%s\n' "$help"
  # Commands nest two deep today; four bounds a help that lists itself.
  if [ $# -lt 4 ]; then
    for command in $(printf '%s\n' "$help" | commands); do
      walk "$@" "$command"
    done
  fi
)

mkdir -p "$(dirname "$output")"
walk >"$output.help"
awk -v name="$name" -v version="$version" -v see_also="$see_also" \
  -f "$here/help2roff.awk" "$output.help" >"$output.tmp"
rm -f "$output.help"
mv "$output.tmp" "$output"
