# cmake -DSOURCE=clients/c/secpol_client.c -DOUTPUT=.../secpol/_idempotent.py -P idempotent.cmake
#
# Writes the Python client's table of the methods it may send again to
# another instance (secpol.idempotent) from the one table there is, the C
# client's s_idempotent[] in clients/c/secpol_client.c, so the two clients
# can never disagree. A table that cannot be found or names no method stops
# the build.
file(READ ${SOURCE} text)
string(REGEX MATCH "s_idempotent\\[\\][ \t\n]*=[ \t\n]*{[^}]*}" table "${text}")
string(REGEX MATCHALL "\"/[A-Za-z0-9_.]+/[A-Za-z0-9_]+\"" paths "${table}")
list(LENGTH paths n)
if(n EQUAL 0)
  message(FATAL_ERROR "${SOURCE}: no s_idempotent[] table of method paths found")
endif()
set(python "\"\"\"Generated at build time from s_idempotent[] in clients/c/secpol_client.c: do not edit.\"\"\"\n\n")
string(APPEND python "IDEMPOTENT = frozenset((\n")
foreach(path ${paths})
  string(APPEND python "    ${path},\n")
endforeach()
string(APPEND python "))\n")
file(WRITE ${OUTPUT}.tmp "${python}")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
