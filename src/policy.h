/*  policy.h - the effective workspace policy, for every service that obeys it.
 *
 *  The effective policy of a workspace (or of one community in it) is the
 *  defaults, overridden by what the workspace level sets, overridden by what
 *  the community level sets (see docs/POLICY.md). Token, session, lockout,
 *  OTP and password handlers read it here inside the transaction the
 *  dispatcher gave them; only PolicyService writes it.
 *
 *  The rendering of security headers and the upload-name check are pure
 *  functions of a policy, so that callers and tests can use them without a
 *  store.
 */
#ifndef SECPOL_POLICY_H_INCLUDED
#define SECPOL_POLICY_H_INCLUDED

#include "arena.h"
#include "store.h"

#include "secpol/v1/policy.pb-c.h"

#include <stdbool.h>

/*  Longest workspace_id or community_id, in bytes. */
#define SECPOL_POLICY_ID_MAX 128

/*  Longest file name CheckFileUpload judges (after directories are
 *  stripped), in bytes: the NAME_MAX of common file systems. */
#define SECPOL_POLICY_FILENAME_MAX 255

/*  Checks an id: a workspace_id is required (required true), a community_id
 *  may be "" (the workspace level). An id is at most SECPOL_POLICY_ID_MAX
 *  bytes of valid UTF-8 without control characters. Returns NULL when it is
 *  acceptable, else a static description of what is wrong, for a field
 *  violation. NULL id counts as "". */
const char *secpol_policy_id_problem (const char *id, bool required);

/*  Loads the effective policy of workspace_id, or of community_id in it
 *  (NULL or "" = the workspace level), inside txn (read or write). Every
 *  setting is filled, every sub-message present. version, updated_at and
 *  updated_by are those of the level addressed (0, 0, "" when it was never
 *  written). The policy lives in arena. ids are not validated here: a
 *  handler checks them with secpol_policy_id_problem() first.
 *  Returns 0 and sets *policy_p, or a store error (SECPOL_ECORRUPT when a
 *  stored level does not decode). */
int secpol_policy_effective (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                             const char *community_id, Secpol__V1__Policy **policy_p)
    __attribute__ ((warn_unused_result));

/*  Fills out->headers (and out->warnings) with the HTTP response headers a
 *  web tier should send for policy, in a fixed order; a header whose value
 *  is "" is left out. Strings live in arena. */
void secpol_policy_render_headers (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
                                   Secpol__V1__RenderSecurityHeadersResponse *out);

/*  Judges a client-supplied upload name against policy's
 *  allowed_file_extensions and fills out: allowed, the normalised extension
 *  (lower case, no dot; "" when none could be found) and, when refused, the
 *  reason. filename must be non-empty (the handler refuses "" as
 *  INVALID_ARGUMENT). Strings live in arena. */
void secpol_policy_check_upload (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
                                 const char *filename, Secpol__V1__CheckFileUploadResponse *out);

#endif
