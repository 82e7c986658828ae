/*  policy_store.h - how PolicyService keeps policy levels and revisions.
 *
 *  Table secpol_policy_table ("policy") holds one secpol.store.v1.PolicyLevel per
 *  level under the key
 *      u8 len(workspace_id) workspace_id u8 len(community_id) community_id
 *  (community_id "" for the workspace level). The length prefixes keep keys
 *  unambiguous whatever bytes the ids hold, and no level's key is a prefix
 *  of another's revision keys.
 *
 *  Table secpol_policy_revision_table ("policy_revision") holds one secpol.v1.PolicyRevision per
 *  change under level key + big-endian u64 version, so that one level's
 *  revisions are contiguous and ordered by version.
 *
 *  Other services include policy.h and use only secpol_policy_effective()
 *  and secpol_policy_id_problem(); the rest is PolicyService's own.
 */
#ifndef SECPOL_POLICY_STORE_H_INCLUDED
#define SECPOL_POLICY_STORE_H_INCLUDED

#include "arena.h"
#include "policy_fields.h"
#include "store.h"

#include "secpol/v1/policy.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

/*  The tables PolicyService owns. */
extern const secpol_table_t secpol_policy_table;          /* one record per level */
extern const secpol_table_t secpol_policy_revision_table; /* one record per change */

/*  Longest workspace_id or community_id, in bytes. */
#define SECPOL_POLICY_ID_MAX 128

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
 *  written). ids are not validated here: a handler checks them with
 *  secpol_policy_id_problem() first.
 *  The policy is read-only. It lives in arena, or, when txn carries its
 *  lane thread's memo (memo.h), in the memo: found there when the levels
 *  stored now are byte for byte those it was composed from (a policy
 *  another request or instance changed is composed again, never served
 *  stale), and valid until the request is answered.
 *  Returns 0 and sets *policy_p, or a store error (SECPOL_ECORRUPT when a
 *  stored level does not decode). */
int secpol_policy_effective (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                             const char *community_id, const Secpol__V1__Policy **policy_p)
    __attribute__ ((warn_unused_result));

/*  A page of revisions stops before it would pass this many bytes (it
 *  always holds at least one), far below the 4 MiB message ceiling. */
#define SECPOL_POLICY_PAGE_BYTES_MAX (1024 * 1024)

/*  Largest level key, and largest revision key. */
#define SECPOL_POLICY_KEY_MAX          (2 + 2 * SECPOL_POLICY_ID_MAX)
#define SECPOL_POLICY_REVISION_KEY_MAX (SECPOL_POLICY_KEY_MAX + 8)

/*  A level and what surrounds it, as UpdatePolicy and DeletePolicy need it. */
typedef struct {
    const Secpol__V1__Policy *parent;      /* what the level inherits: defaults, or defaults <-
                                              workspace for a community */
    Secpol__Store__V1__PolicyLevel *level; /* the level's record; NULL when never written */
    Secpol__V1__Policy *effective;         /* parent <- level, with the level's metadata */
} secpol_policy_view_t;

/*  Writes the key of a level into key and returns its length. ids must
 *  have passed secpol_policy_id_problem(); community_id NULL = "". */
size_t secpol_policy_level_key (uint8_t key[SECPOL_POLICY_KEY_MAX], const char *workspace_id,
                                const char *community_id);

/*  Loads the level of workspace_id / community_id with what it inherits
 *  into *view (everything in arena). Returns 0, or a store error
 *  (SECPOL_ECORRUPT when a record does not decode). */
int secpol_policy_view (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                        const char *community_id, secpol_policy_view_t *view)
    __attribute__ ((warn_unused_result));

/*  Returns a new policy: parent with level applied and level's version,
 *  updated_at and updated_by (0 / 0 / "" when level is NULL). */
Secpol__V1__Policy *secpol_policy_compose (secpol_arena_t *arena, const Secpol__V1__Policy *parent,
                                           const Secpol__Store__V1__PolicyLevel *level);

/*  Stores a level record (write transactions only). Returns 0 or an error. */
int secpol_policy_level_save (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                              const char *community_id, const Secpol__Store__V1__PolicyLevel *level)
    __attribute__ ((warn_unused_result));

/*  Stores a revision of a level under its version. Returns 0 or an error. */
int secpol_policy_revision_save (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                                 const char *community_id,
                                 const Secpol__V1__PolicyRevision *revision)
    __attribute__ ((warn_unused_result));

/*  Reads up to limit revisions of a level, newest first, starting at
 *  version from (inclusive; UINT64_MAX = the newest) into out->revisions,
 *  and fewer when they would pass SECPOL_POLICY_PAGE_BYTES_MAX.
 *  *next_p receives the version the next page starts at, 0 when there is
 *  none. Returns 0 or a store error. */
int secpol_policy_revisions (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                             const char *community_id, uint64_t from, size_t limit,
                             Secpol__V1__ListPolicyRevisionsResponse *out, uint64_t *next_p)
    __attribute__ ((warn_unused_result));

/*  Reads the ids back from a level key (size bytes). Returns true and sets
 *  *workspace_id_p and *community_id_p (NUL-terminated, in arena) when key
 *  is a well-formed level key (a workspace id of 1 to SECPOL_POLICY_ID_MAX
 *  bytes, a community id of at most SECPOL_POLICY_ID_MAX, nothing more),
 *  else false. */
bool secpol_policy_level_key_parse (secpol_arena_t *arena, const void *key, size_t size,
                                    char **workspace_id_p, char **community_id_p);

/*  Reads up to limit level summaries in key order (shorter workspace ids
 *  first, then bytewise; a workspace level before its communities) into
 *  out->levels, starting at the level key from (from_size bytes; 0 = the
 *  first), only the levels of workspace_id when it is not "", and fewer
 *  when they would pass SECPOL_POLICY_PAGE_BYTES_MAX. *next_p receives the
 *  key the next page starts at (in arena) and *next_size_p its size, 0 when
 *  there is no next page. A deleted level is listed (it keeps its version)
 *  with overridden_settings 0. Returns 0 or a store error (SECPOL_ECORRUPT
 *  for a record or key that does not decode). */
int secpol_policy_levels (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                          const uint8_t *from, size_t from_size, size_t limit,
                          Secpol__V1__ListPoliciesResponse *out, uint8_t **next_p,
                          size_t *next_size_p) __attribute__ ((warn_unused_result));

#endif
