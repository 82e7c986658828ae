/*  policy_service.c - PolicyService handlers and their method table.
 *
 *  Reads (GetPolicy, ListPolicyRevisions, RenderSecurityHeaders,
 *  CheckFileUpload) run on the READ lane; writes (UpdatePolicy,
 *  DeletePolicy) on the WRITE lane, which runs one handler at a time: a
 *  read-modify-write inside one handler is therefore atomic, and two
 *  concurrent updates of different settings both survive. A handler that
 *  returns an error has everything it wrote rolled back.
 *
 *  Behaviour is documented in docs/POLICY.md.
 */
#include "log.h"
#include "audit.h"
#include "policy.h"
#include "service.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE_DEFAULT  50
#define PAGE_SIZE_MAX      500
#define ACTOR_MAX          256
#define PAGE_TOKEN_PREFIX  "r1-"
#define LEVEL_TOKEN_PREFIX "l1-" /* ListPolicies: then the next level's key in hex */
#define UPDATE_MASK_MAX    128   /* 54 settings, their groups and "*" fit many times over */
#define UNKNOWN_NAMED      5     /* unknown mask paths quoted in the violation; the rest counted */
#define UNKNOWN_QUOTED     64    /* bytes of each quoted path */

static bool s_check_ids (secpol_call_t *call, const char *workspace_id, const char *community_id);
static void s_check_actor (secpol_call_t *call, const char *actor);
static bool s_check_mask (secpol_call_t *call, char *const *paths, size_t n_paths,
                          secpol_policy_mask_t *mask_p);
static void s_check_headers_size (secpol_call_t *call, secpol_policy_mask_t mask,
                                  const Secpol__V1__Policy *result);
static int s_audit_change (secpol_call_t *call, const char *workspace_id, const char *community_id,
                           const Secpol__V1__PolicyRevision *revision);
static int s_store_failed (secpol_call_t *call, int rc, const char *workspace_id,
                           const char *community_id);
static int s_check_version (secpol_call_t *call, uint64_t expected, uint64_t stored,
                            const char *community_id);
static int s_open_level (secpol_call_t *call, const char *workspace_id, const char *community_id,
                         uint64_t expected_version, secpol_policy_view_t *view);
static int s_save_change (secpol_call_t *call, const char *workspace_id, const char *community_id,
                          const Secpol__Store__V1__PolicyLevel *old, const char *actor,
                          Secpol__Store__V1__PolicyLevel *level,
                          Secpol__V1__PolicyRevision *revision, Secpol__V1__Policy *result);
static void s_note_write (secpol_call_t *call, const char *workspace_id, const char *community_id,
                          const Secpol__V1__PolicyRevision *revision);
static size_t s_page_limit (uint32_t page_size);
static char *s_page_token (secpol_call_t *call, uint64_t version);
static bool s_parse_page_token (const char *token, uint64_t *version_p);
static char *s_level_token (secpol_call_t *call, const uint8_t *key, size_t size);
static bool s_parse_level_token (secpol_call_t *call, const char *token, const char *workspace_id,
                                 uint8_t key[SECPOL_POLICY_KEY_MAX], size_t *size_p);

SECPOL_HANDLER (s_get_policy, Secpol__V1__GetPolicyRequest, in, Secpol__V1__Policy, out)
{
    if (!s_check_ids (call, in->workspace_id, in->community_id))
        return secpol_call_check (call);
    const Secpol__V1__Policy *policy;
    int rc = secpol_policy_effective (call->txn, call->arena, in->workspace_id, in->community_id,
                                      &policy);
    if (rc)
        return s_store_failed (call, rc, in->workspace_id, in->community_id);
    *out = *policy;
    return SECPOL_OK;
}

SECPOL_HANDLER (s_update_policy, Secpol__V1__UpdatePolicyRequest, in, Secpol__V1__Policy, out)
{
    const char *ws = in->workspace_id, *community = in->community_id;
    s_check_ids (call, ws, community);
    s_check_actor (call, in->actor);

    secpol_policy_mask_t mask = 0;
    s_check_mask (call, in->update_mask, in->n_update_mask, &mask);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;

    secpol_policy_view_t view;
    rc = s_open_level (call, ws, community, in->expected_version, &view);
    if (rc)
        return rc;
    const Secpol__Store__V1__PolicyLevel *old = view.level;

    /* The new level: what it set before, the masked leaves from the request,
     * and the rest of every group the mask touches pinned at its current
     * effective value (a group's cross-field rules hold within one level). */
    const Secpol__V1__Policy *update = in->policy;
    if (!update)
        update = secpol_policy_new (call->arena);
    secpol_policy_mask_t old_mask = secpol_policy_level_mask (old);
    secpol_policy_mask_t widened = secpol_policy_mask_groups (mask);
    Secpol__Store__V1__PolicyLevel *level = (Secpol__Store__V1__PolicyLevel *)secpol_arena_message (
        call->arena, &secpol__store__v1__policy_level__descriptor);
    level->values = secpol_policy_new (call->arena);
    Secpol__V1__Policy empty = SECPOL__V1__POLICY__INIT;
    const Secpol__V1__Policy *old_values = old && old->values ? old->values : &empty;
    for (size_t i = 0; i < secpol_policy_field_count (); i++) {
        secpol_policy_mask_t bit = UINT64_C (1) << i;
        if (mask & bit)
            secpol_policy_leaf_copy (call->arena, level->values, update, i);
        else if (old_mask & bit)
            secpol_policy_leaf_copy (call->arena, level->values, old_values, i);
        else if (widened & bit)
            secpol_policy_leaf_copy (call->arena, level->values, view.effective, i);
    }
    secpol_policy_mask_t new_mask = old_mask | widened;
    secpol_policy_level_set_mask (call->arena, level, new_mask);
    secpol_policy_level_keep_high_water (call->arena, level, old);
    Secpol__V1__Policy *result = secpol_policy_compose (call->arena, view.parent, level);

    secpol_policy_violation_t *violations;
    size_t n_violations =
        secpol_policy_validate (call->arena, update, mask, result, view.effective, &violations);
    for (size_t k = 0; k < n_violations; k++)
        secpol_call_violation (call, violations[k].field, "%s", violations[k].description);
    if (n_violations == 0)
        s_check_headers_size (call, mask, result);
    rc = secpol_call_check (call);
    if (rc)
        return rc;

    Secpol__V1__FieldChange **changes;
    size_t n_changes = secpol_policy_diff (call->arena, old_mask, old_values, view.effective,
                                           new_mask, level->values, result, &changes);
    if (n_changes == 0) {
        /* Nothing changed: no new version, no revision. */
        *out = *view.effective;
        return SECPOL_OK;
    }
    Secpol__V1__PolicyRevision revision = SECPOL__V1__POLICY_REVISION__INIT;
    revision.n_changes = n_changes;
    revision.changes = changes;
    rc = s_save_change (call, ws, community, old, in->actor, level, &revision, result);
    if (rc)
        return rc;
    s_note_write (call, ws, community, &revision);
    *out = *result;
    return SECPOL_OK;
}

SECPOL_HANDLER (s_delete_policy, Secpol__V1__DeletePolicyRequest, in,
                Secpol__V1__DeletePolicyResponse, out)
{
    const char *ws = in->workspace_id, *community = in->community_id;
    s_check_ids (call, ws, community);
    s_check_actor (call, in->actor);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;

    secpol_policy_view_t view;
    rc = s_open_level (call, ws, community, in->expected_version, &view);
    if (rc)
        return rc;
    const Secpol__Store__V1__PolicyLevel *old = view.level;
    secpol_policy_mask_t old_mask = secpol_policy_level_mask (old);
    if (old_mask == 0) {
        /* The level sets nothing: nothing to delete, no revision. */
        out->deleted = false;
        out->policy = view.effective;
        return SECPOL_OK;
    }

    /* The record stays, with no overrides, so that the version keeps
     * counting up, revision keys never repeat and counters keep their
     * high-water mark (force_password_reset never goes down). */
    Secpol__Store__V1__PolicyLevel *level = (Secpol__Store__V1__PolicyLevel *)secpol_arena_message (
        call->arena, &secpol__store__v1__policy_level__descriptor);
    level->values = secpol_policy_new (call->arena);
    secpol_policy_level_keep_high_water (call->arena, level, old);
    Secpol__V1__Policy *result = secpol_policy_compose (call->arena, view.parent, level);

    Secpol__V1__PolicyRevision revision = SECPOL__V1__POLICY_REVISION__INIT;
    revision.deleted = true;
    revision.n_changes =
        secpol_policy_diff (call->arena, old_mask, old->values ? old->values : level->values,
                            view.effective, 0, level->values, result, &revision.changes);
    rc = s_save_change (call, ws, community, old, in->actor, level, &revision, result);
    if (rc)
        return rc;
    s_note_write (call, ws, community, &revision);
    out->deleted = true;
    out->policy = result;
    return SECPOL_OK;
}

SECPOL_HANDLER (s_list_policy_revisions, Secpol__V1__ListPolicyRevisionsRequest, in,
                Secpol__V1__ListPolicyRevisionsResponse, out)
{
    s_check_ids (call, in->workspace_id, in->community_id);
    uint64_t from = UINT64_MAX;
    if (*in->page_token && !s_parse_page_token (in->page_token, &from))
        secpol_call_violation (call, "page_token",
                               "is not a page token: pass next_page_token from the previous "
                               "page unchanged, or \"\" for the first page");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    uint64_t next = 0;
    rc = secpol_policy_revisions (call->txn, call->arena, in->workspace_id, in->community_id, from,
                                  s_page_limit (in->page_size), out, &next);
    if (rc)
        return s_store_failed (call, rc, in->workspace_id, in->community_id);
    out->next_page_token = next ? s_page_token (call, next) : "";
    return SECPOL_OK;
}

SECPOL_HANDLER (s_list_policies, Secpol__V1__ListPoliciesRequest, in,
                Secpol__V1__ListPoliciesResponse, out)
{
    const char *problem = secpol_policy_id_problem (in->workspace_id, false);
    if (problem)
        secpol_call_violation (call, "workspace_id", "%s", problem);
    uint8_t from[SECPOL_POLICY_KEY_MAX];
    size_t from_size = 0;
    if (*in->page_token && !s_parse_level_token (call, in->page_token,
                                                 problem ? "" : in->workspace_id, from, &from_size))
        secpol_call_violation (call, "page_token",
                               "is not a page token of this listing: pass next_page_token from "
                               "the previous page unchanged (with the same workspace_id), or "
                               "\"\" for the first page");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    uint8_t *next = NULL;
    size_t next_size = 0;
    rc = secpol_policy_levels (call->txn, call->arena, in->workspace_id, from, from_size,
                               s_page_limit (in->page_size), out, &next, &next_size);
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "policy store: %s", secpol_strerror (rc));
    out->next_page_token = next_size ? s_level_token (call, next, next_size) : "";
    return SECPOL_OK;
}

SECPOL_HANDLER (s_render_security_headers, Secpol__V1__RenderSecurityHeadersRequest, in,
                Secpol__V1__RenderSecurityHeadersResponse, out)
{
    if (!s_check_ids (call, in->workspace_id, in->community_id))
        return secpol_call_check (call);
    const Secpol__V1__Policy *policy;
    int rc = secpol_policy_effective (call->txn, call->arena, in->workspace_id, in->community_id,
                                      &policy);
    if (rc)
        return s_store_failed (call, rc, in->workspace_id, in->community_id);
    secpol_policy_render_headers (call->arena, policy, out);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_check_file_upload, Secpol__V1__CheckFileUploadRequest, in,
                Secpol__V1__CheckFileUploadResponse, out)
{
    s_check_ids (call, in->workspace_id, in->community_id);
    if (!*in->filename)
        secpol_call_violation (call, "filename", "is required");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    const Secpol__V1__Policy *policy;
    rc = secpol_policy_effective (call->txn, call->arena, in->workspace_id, in->community_id,
                                  &policy);
    if (rc)
        return s_store_failed (call, rc, in->workspace_id, in->community_id);
    secpol_policy_check_upload (call->arena, policy, in->filename, out);
    return SECPOL_OK;
}

static const secpol_method_spec_t s_methods[] = {
    {.method = "GetPolicy",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_get_policy},
    {.method = "UpdatePolicy",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_ADMIN,
     .handler = &s_update_policy},
    {.method = "DeletePolicy",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_ADMIN,
     .handler = &s_delete_policy},
    {.method = "ListPolicyRevisions",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_list_policy_revisions},
    {.method = "ListPolicies",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_list_policies},
    {.method = "RenderSecurityHeaders",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_render_security_headers},
    {.method = "CheckFileUpload",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_check_file_upload},
};
static const secpol_table_t *const s_tables[] = {&secpol_policy_table,
                                                 &secpol_policy_revision_table};
SECPOL_SERVICE (policy, secpol__v1__policy_service__descriptor, s_methods, s_tables);

/*  Records a violation for each bad id; true when both are good. */
static bool
s_check_ids (secpol_call_t *call, const char *workspace_id, const char *community_id)
{
    const char *ws_problem = secpol_policy_id_problem (workspace_id, true);
    const char *community_problem = secpol_policy_id_problem (community_id, false);
    if (ws_problem)
        secpol_call_violation (call, "workspace_id", "%s", ws_problem);
    if (community_problem)
        secpol_call_violation (call, "community_id", "%s", community_problem);
    return !ws_problem && !community_problem;
}

static void
s_check_actor (secpol_call_t *call, const char *actor)
{
    const char *problem = strlen (actor) > ACTOR_MAX
                              ? "is longer than 256 bytes"
                              : secpol_text_problem (actor, ACTOR_MAX, false);
    if (problem)
        secpol_call_violation (call, "actor", "%s", problem);
}

/*  Adds the leaves the update_mask paths name to *mask_p. Records one
 *  violation for a missing or oversized mask or for the paths that name no
 *  setting (the first UNKNOWN_NAMED quoted, the rest counted), so the work
 *  and the reply stay linear in the mask and bounded. True when all is well. */
static bool
s_check_mask (secpol_call_t *call, char *const *paths, size_t n_paths, secpol_policy_mask_t *mask_p)
{
    if (n_paths == 0) {
        secpol_call_violation (call, "update_mask",
                               "is required: name the settings to change "
                               "(\"login_lockout.max_failures\", \"hsts\", or \"*\" for all)");
        return false;
    }
    if (n_paths > UPDATE_MASK_MAX) {
        secpol_call_violation (call, "update_mask",
                               "has %zu paths; at most %d are allowed (\"*\" names every setting)",
                               n_paths, UPDATE_MASK_MAX);
        return false;
    }
    const char *named[UNKNOWN_NAMED];
    size_t n_unknown = 0;
    for (size_t k = 0; k < n_paths; k++) {
        if (secpol_policy_mask_add (mask_p, paths[k]) == 0 || n_unknown++ >= UNKNOWN_NAMED)
            continue;
        const char *nearest = secpol_policy_nearest_path (paths[k], true);
        named[n_unknown - 1] = secpol_call_printf (
            call, "%s%s%s%s", secpol_policy_quote (call->arena, paths[k], UNKNOWN_QUOTED),
            nearest ? " (did you mean " : "", nearest ? nearest : "", nearest ? "?)" : "");
    }
    if (n_unknown == 0)
        return true;
    char *list = NULL;
    for (size_t k = 0; k < n_unknown && k < UNKNOWN_NAMED; k++)
        list = k ? secpol_call_printf (call, "%s, %s", list, named[k]) : (char *)named[0];
    secpol_call_violation (
        call, "update_mask", "names no setting: %s%s (metadata such as version cannot be set)",
        list,
        n_unknown > UNKNOWN_NAMED
            ? secpol_call_printf (call, " and %zu more", n_unknown - UNKNOWN_NAMED)
            : "");
    return false;
}

/*  When the update touches a header setting, the headers of the result
 *  must fit SECPOL_POLICY_HEADERS_BYTES_MAX. The violation names the
 *  touched header setting with the longest value (the one to shorten). A
 *  level stored before the cap may still change its other settings. */
static void
s_check_headers_size (secpol_call_t *call, secpol_policy_mask_t mask,
                      const Secpol__V1__Policy *result)
{
    int target = -1;
    size_t longest = 0;
    for (size_t i = 0; i < secpol_policy_field_count (); i++) {
        if (!(mask & (UINT64_C (1) << i)) ||
            strcmp (secpol_policy_field (i)->enforcer, SECPOL_POLICY_BY_HEADERS) != 0)
            continue;
        size_t length = strlen (secpol_policy_leaf_text (call->arena, result, i));
        if (target < 0 || length > longest)
            target = (int)i, longest = length;
    }
    if (target < 0)
        return;
    size_t size = secpol_policy_headers_size (call->arena, result);
    if (size <= SECPOL_POLICY_HEADERS_BYTES_MAX)
        return;
    secpol_call_violation (
        call, secpol_call_printf (call, "policy.%s", secpol_policy_field ((size_t)target)->path),
        "the security headers would take %zu bytes; all of them together may "
        "take at most %d (a proxy holds the response header in one buffer, "
        "4 or 8 KiB for nginx): shorten this value or another header",
        size, SECPOL_POLICY_HEADERS_BYTES_MAX);
}

static int
s_check_version (secpol_call_t *call, uint64_t expected, uint64_t stored, const char *community_id)
{
    if (expected == 0 || expected == stored)
        return SECPOL_OK;
    return secpol_call_fail (call, SECPOL_ABORTED,
                             "the %s policy is at version %" PRIu64 ", not %" PRIu64
                             ": read it again and retry",
                             *community_id ? "community" : "workspace", stored, expected);
}

/*  Loads the level a write addresses, with what it inherits, and checks the
 *  caller's expected_version against it (0 = unconditional). */
static int
s_open_level (secpol_call_t *call, const char *workspace_id, const char *community_id,
              uint64_t expected_version, secpol_policy_view_t *view)
{
    int rc = secpol_policy_view (call->txn, call->arena, workspace_id, community_id, view);
    if (rc)
        return s_store_failed (call, rc, workspace_id, community_id);
    return s_check_version (call, expected_version, view->level ? view->level->version : 0,
                            community_id);
}

/*  Stamps a changed level (next version, now, actor or else the caller),
 *  gives revision and result the same stamp, and stores level and revision. */
static int
s_save_change (secpol_call_t *call, const char *workspace_id, const char *community_id,
               const Secpol__Store__V1__PolicyLevel *old, const char *actor,
               Secpol__Store__V1__PolicyLevel *level, Secpol__V1__PolicyRevision *revision,
               Secpol__V1__Policy *result)
{
    level->version = (old ? old->version : 0) + 1;
    level->updated_at = call->now;
    level->updated_by = (char *)(*actor ? actor : call->caller);
    revision->version = level->version;
    revision->changed_at = call->now;
    revision->actor = level->updated_by;
    revision->caller = (char *)call->caller;
    result->version = level->version;
    result->updated_at = level->updated_at;
    result->updated_by = level->updated_by;
    int rc = secpol_policy_level_save (call->txn, call->arena, workspace_id, community_id, level);
    if (rc == 0)
        rc = secpol_policy_revision_save (call->txn, call->arena, workspace_id, community_id,
                                          revision);
    if (rc == 0)
        rc = s_audit_change (call, workspace_id, community_id, revision);
    return rc ? s_store_failed (call, rc, workspace_id, community_id) : SECPOL_OK;
}

/*  The audit events of a stored change (audit.h), in its transaction:
 *  POLICY_UPDATED or POLICY_DELETED with the version and the fields that
 *  changed (names only), and PASSWORD_RESET_FORCED when the change raised
 *  force_password_reset (the generation every account compares with). */
static int
s_audit_change (secpol_call_t *call, const char *workspace_id, const char *community_id,
                const Secpol__V1__PolicyRevision *revision)
{
    char *fields = "";
    const Secpol__V1__FieldChange *forced = NULL;
    for (size_t k = 0; k < revision->n_changes; k++) {
        const Secpol__V1__FieldChange *change = revision->changes[k];
        fields = secpol_call_printf (call, "%s%s%s", fields, k ? "," : "", change->field);
        if (strcmp (change->field, "force_password_reset") == 0 &&
            strtoull (change->new_value, NULL, 10) > strtoull (change->old_value, NULL, 10))
            forced = change;
    }
    int rc = secpol_audit_add (
        call->txn, call->now,
        revision->deleted ? SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_POLICY_DELETED
                          : SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_POLICY_UPDATED,
        workspace_id, community_id, "",
        secpol_call_printf (call, "version=%" PRIu64 " fields=%s", revision->version, fields));
    if (rc == 0 && forced)
        rc = secpol_audit_add (call->txn, call->now,
                               SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_PASSWORD_RESET_FORCED,
                               workspace_id, community_id, "",
                               secpol_call_printf (call, "generation=%s previous=%s",
                                                   forced->new_value, forced->old_value));
    return rc;
}

/*  Describes a stored change for the WRITE lane's info line: who changed
 *  which level to which version, and the paths of the settings that
 *  changed (names only: a value may be something an operator would not
 *  want in a log). Client text is quoted by secpol_log_quote. */
static void
s_note_write (secpol_call_t *call, const char *workspace_id, const char *community_id,
              const Secpol__V1__PolicyRevision *revision)
{
    char *fields = "";
    for (size_t k = 0; k < revision->n_changes; k++)
        fields =
            secpol_call_printf (call, "%s%s%s", fields, k ? "," : "", revision->changes[k]->field);
    char workspace[300], community[300], actor[300], paths[700];
    secpol_call_note (call,
                      "workspace=%s community=%s actor=%s version=%" PRIu64
                      " deleted=%s changes=%zu fields=%s",
                      secpol_log_quote (workspace, sizeof workspace, workspace_id),
                      secpol_log_quote (community, sizeof community, community_id),
                      secpol_log_quote (actor, sizeof actor, revision->actor), revision->version,
                      revision->deleted ? "true" : "false", revision->n_changes,
                      secpol_log_quote (paths, sizeof paths, fields));
}

static int
s_store_failed (secpol_call_t *call, int rc, const char *workspace_id, const char *community_id)
{
    return secpol_call_fail (call, SECPOL_INTERNAL, "policy store of workspace %s%s%s: %s",
                             workspace_id, *community_id ? " community " : "", community_id,
                             secpol_strerror (rc));
}

/*  AIP-158: a page size of 0 means the default; larger than the maximum is
 *  coerced, not refused. */
static size_t
s_page_limit (uint32_t page_size)
{
    if (page_size == 0)
        return PAGE_SIZE_DEFAULT;
    return page_size > PAGE_SIZE_MAX ? PAGE_SIZE_MAX : page_size;
}

static char *
s_page_token (secpol_call_t *call, uint64_t version)
{
    return secpol_call_printf (call, PAGE_TOKEN_PREFIX "%016" PRIx64, version);
}

static bool
s_parse_page_token (const char *token, uint64_t *version_p)
{
    size_t prefix = strlen (PAGE_TOKEN_PREFIX);
    if (strlen (token) != prefix + 16 || strncmp (token, PAGE_TOKEN_PREFIX, prefix) != 0)
        return false;
    uint64_t version = 0;
    for (const char *p = token + prefix; *p; p++) {
        int digit;
        if (*p >= '0' && *p <= '9')
            digit = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            digit = *p - 'a' + 10;
        else
            return false;
        version = (version << 4) | (uint64_t)digit;
    }
    if (version == 0)
        return false;
    *version_p = version;
    return true;
}

/*  ListPolicies' token: "l1-" and the key of the level the page starts at,
 *  in hex (ids are text of any bytes; hex keeps the token plain ASCII). */
static char *
s_level_token (secpol_call_t *call, const uint8_t *key, size_t size)
{
    static const char digits[] = "0123456789abcdef";
    size_t prefix = strlen (LEVEL_TOKEN_PREFIX);
    char *token = secpol_call_alloc (call, prefix + 2 * size + 1);
    memcpy (token, LEVEL_TOKEN_PREFIX, prefix);
    for (size_t k = 0; k < size; k++) {
        token[prefix + 2 * k] = digits[key[k] >> 4];
        token[prefix + 2 * k + 1] = digits[key[k] & 15];
    }
    return token;
}

/*  Decodes a ListPolicies token into the level key it names; false unless
 *  it is well formed and, when workspace_id is not "", names one of that
 *  workspace's levels. */
static bool
s_parse_level_token (secpol_call_t *call, const char *token, const char *workspace_id,
                     uint8_t key[SECPOL_POLICY_KEY_MAX], size_t *size_p)
{
    size_t prefix = strlen (LEVEL_TOKEN_PREFIX);
    size_t length = strnlen (token, prefix + 2 * SECPOL_POLICY_KEY_MAX + 1);
    if (length <= prefix || length > prefix + 2 * SECPOL_POLICY_KEY_MAX || (length - prefix) % 2 ||
        strncmp (token, LEVEL_TOKEN_PREFIX, prefix) != 0)
        return false;
    size_t size = (length - prefix) / 2;
    for (size_t k = 0; k < size; k++) {
        int value = 0;
        for (int half = 0; half < 2; half++) {
            char c = token[prefix + 2 * k + half];
            int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (digit < 0)
                return false;
            value = value * 16 + digit;
        }
        key[k] = (uint8_t)value;
    }
    char *ws, *community;
    if (!secpol_policy_level_key_parse (call->arena, key, size, &ws, &community))
        return false;
    if (*workspace_id && strcmp (ws, workspace_id) != 0)
        return false;
    *size_p = size;
    return true;
}
