#!/usr/bin/env bash
# The hardened release build (issue 12, docs/SECURITY.md), read back from
# the binaries with readelf: secpold and secpolctl are position-independent
# executables with full RELRO (a GNU_RELRO segment and BIND_NOW), a stack
# that is not executable, stack canaries (__stack_chk_fail) and fortified
# libc calls (__*_chk). Debug builds (sanitizers, fuzzing) are built
# without on purpose: the test then checks nothing and says so.
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/secpol-hardening-XXXXXX)
case "${SECPOL_BUILD_TYPE:-}" in
  Release | RelWithDebInfo | MinSizeRel) ;;
  *)
    echo "build type '${SECPOL_BUILD_TYPE:-}' is not a release build: hardening not expected"
    ok "nothing to check in a ${SECPOL_BUILD_TYPE:-unnamed} build"
    secpol_finish
    ;;
esac
command -v readelf >/dev/null || { echo "readelf (binutils) is missing"; exit 1; }
for binary in "$SECPOLD" "$SECPOLCTL"; do
  name=$(basename "$binary")
  header=$(readelf -h "$binary")
  segments=$(readelf -lW "$binary")
  dynamic=$(readelf -dW "$binary")
  symbols=$(readelf -sW --dyn-syms "$binary")
  has "$name is position-independent (PIE)" "$header" 'Type:[[:space:]]+DYN'
  has "$name has a GNU_RELRO segment" "$segments" 'GNU_RELRO'
  has "$name binds now (full RELRO)" "$dynamic" '\(FLAGS(_1)?\).*NOW'
  check "$name has a stack that is not executable" "$segments" 'GNU_STACK'
  lacks "$name: the stack is not RWE" "$(grep GNU_STACK <<<"$segments")" 'RWE'
  has "$name has stack canaries" "$symbols" '__stack_chk_fail'
  has "$name calls fortified libc functions" "$symbols" '__[a-z]+_chk'
done
secpol_finish
