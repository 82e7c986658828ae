/*  secpolctl_policy_table.c - the server's table of policy settings, in
 *  secpolctl.
 *
 *  `policy set` checks setting names and values before it connects, and
 *  `policy settings` lists them, with the very table secpold validates
 *  with (src/policy/policy_fields.c): one table drives the server, the
 *  client and docs/POLICY.md, so they cannot disagree. secpolctl builds
 *  every clients/cli/secpolctl*.c, so the table comes in as this one
 *  translation unit, and the runtime pieces it stands on (arena, text) as
 *  secpolctl_policy_runtime.c; nothing else of the server does.
 */
#include "../../src/policy/policy_fields.c"
