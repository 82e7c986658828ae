/*  policy_store.c - policy levels and revisions in the store; see
 *  policy_store.h. */
#include "policy_store.h"

#include "memo.h"

#include <string.h>

const secpol_table_t secpol_policy_table = {"policy"};
const secpol_table_t secpol_policy_revision_table = {"policy_revision"};

static int s_unpack_level (secpol_arena_t *arena, secpol_val_t value,
                           Secpol__Store__V1__PolicyLevel **level_p);
static int s_load_level (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                         const char *community_id, Secpol__Store__V1__PolicyLevel **level_p);

const char *
secpol_policy_id_problem (const char *id, bool required)
{
    if (!id || !*id)
        return required ? "is required" : NULL;
    if (strlen (id) > SECPOL_POLICY_ID_MAX)
        return "is longer than 128 bytes";
    return secpol_text_problem (id, SECPOL_POLICY_ID_MAX, false);
}

size_t
secpol_policy_level_key (uint8_t key[SECPOL_POLICY_KEY_MAX], const char *workspace_id,
                         const char *community_id)
{
    size_t ws = strlen (workspace_id);
    size_t community = community_id ? strlen (community_id) : 0;
    /* ids are at most SECPOL_POLICY_ID_MAX (< 256) bytes: checked by every handler */
    if (ws > SECPOL_POLICY_ID_MAX)
        ws = SECPOL_POLICY_ID_MAX;
    if (community > SECPOL_POLICY_ID_MAX)
        community = SECPOL_POLICY_ID_MAX;
    size_t n = 0;
    key[n++] = (uint8_t)ws;
    memcpy (key + n, workspace_id, ws);
    n += ws;
    key[n++] = (uint8_t)community;
    if (community)
        memcpy (key + n, community_id, community);
    return n + community;
}

Secpol__V1__Policy *
secpol_policy_compose (secpol_arena_t *arena, const Secpol__V1__Policy *parent,
                       const Secpol__Store__V1__PolicyLevel *level)
{
    Secpol__V1__Policy *policy = secpol_policy_new (arena);
    for (size_t i = 0; i < secpol_policy_field_count (); i++)
        secpol_policy_leaf_copy (arena, policy, parent, i);
    secpol_policy_level_apply (arena, policy, level);
    policy->version = level ? level->version : 0;
    policy->updated_at = level ? level->updated_at : 0;
    policy->updated_by = secpol_arena_strdup (arena, level ? level->updated_by : "");
    return policy;
}

int
secpol_policy_view (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                    const char *community_id, secpol_policy_view_t *view)
{
    memset (view, 0, sizeof *view);
    const Secpol__V1__Policy *defaults = secpol_policy_shared_defaults ();
    Secpol__Store__V1__PolicyLevel *workspace = NULL;
    int rc = s_load_level (txn, arena, workspace_id, "", &workspace);
    if (rc)
        return rc;
    if (community_id && *community_id) {
        view->parent = secpol_policy_compose (arena, defaults, workspace);
        rc = s_load_level (txn, arena, workspace_id, community_id, &view->level);
        if (rc)
            return rc;
    } else {
        view->parent = defaults;
        view->level = workspace;
    }
    view->effective = secpol_policy_compose (arena, view->parent, view->level);
    return 0;
}

/*  The stored bytes of the level at key, into *value; absent leaves
 *  value->data NULL. */
static int
s_level_bytes (secpol_txn_t *txn, const uint8_t *key, size_t key_size, secpol_val_t *value)
{
    int rc = secpol_get (txn, &secpol_policy_table, key, key_size, value);
    if (rc == SECPOL_ENOTFOUND) {
        value->data = NULL;
        value->size = 0;
        return 0;
    }
    return rc;
}

/*  Appends a level's stamp to buf: a presence byte, its length, its bytes. */
static size_t
s_stamp_level (uint8_t *buf, secpol_val_t value)
{
    size_t n = 0;
    buf[n++] = value.data != NULL;
    uint32_t size = (uint32_t)value.size;
    memcpy (buf + n, &size, sizeof size);
    n += sizeof size;
    if (value.size)
        memcpy (buf + n, value.data, value.size);
    return n + value.size;
}

int
secpol_policy_effective (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                         const char *community_id, const Secpol__V1__Policy **policy_p)
{
    *policy_p = NULL;
    secpol_memo_t *memo = secpol_txn_memo (txn);
    if (!memo) {
        secpol_policy_view_t view;
        int rc = secpol_policy_view (txn, arena, workspace_id, community_id, &view);
        *policy_p = rc ? NULL : view.effective;
        return rc;
    }
    /* The levels as stored now are the stamp: a memo entry made from other
     * bytes is never found. */
    bool community = community_id && *community_id;
    uint8_t key[SECPOL_POLICY_KEY_MAX], level_key[SECPOL_POLICY_KEY_MAX];
    size_t key_size = secpol_policy_level_key (key, workspace_id, community_id);
    size_t level_key_size = secpol_policy_level_key (level_key, workspace_id, "");
    secpol_val_t workspace = {0}, level = {0};
    int rc = s_level_bytes (txn, level_key, level_key_size, &workspace);
    if (rc == 0 && community)
        rc = s_level_bytes (txn, key, key_size, &level);
    if (rc)
        return rc;
    size_t stamp_size = 2 * (1 + sizeof (uint32_t)) + workspace.size + level.size;
    uint8_t *stamp = secpol_arena_alloc (arena, stamp_size);
    stamp_size = s_stamp_level (stamp, workspace);
    stamp_size += s_stamp_level (stamp + stamp_size, level);
    const Secpol__V1__Policy *found = secpol_memo_find (memo, key, key_size, stamp, stamp_size);
    if (found) {
        *policy_p = found;
        return 0;
    }
    /* Composed into a memo entry when one is free until the request is
     * answered, else into the request's arena. */
    secpol_arena_t *into = secpol_memo_reserve (memo);
    secpol_arena_t *target = into ? into : arena;
    Secpol__Store__V1__PolicyLevel *workspace_level = NULL, *community_level = NULL;
    if (workspace.data && (rc = s_unpack_level (target, workspace, &workspace_level)))
        return rc;
    if (level.data && (rc = s_unpack_level (target, level, &community_level)))
        return rc;
    const Secpol__V1__Policy *defaults = secpol_policy_shared_defaults ();
    Secpol__V1__Policy *policy;
    if (community)
        policy = secpol_policy_compose (
            target, secpol_policy_compose (target, defaults, workspace_level), community_level);
    else
        policy = secpol_policy_compose (target, defaults, workspace_level);
    if (into)
        secpol_memo_put (memo, key, key_size, stamp, stamp_size, policy);
    *policy_p = policy;
    return 0;
}

int
secpol_policy_level_save (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                          const char *community_id, const Secpol__Store__V1__PolicyLevel *level)
{
    uint8_t key[SECPOL_POLICY_KEY_MAX];
    size_t key_size = secpol_policy_level_key (key, workspace_id, community_id);
    size_t size = secpol__store__v1__policy_level__get_packed_size (level);
    uint8_t *buffer = secpol_arena_alloc (arena, size);
    secpol__store__v1__policy_level__pack (level, buffer);
    return secpol_put (txn, &secpol_policy_table, key, key_size, buffer, size);
}

/*  Level key + big-endian version. */
static size_t
s_revision_key (uint8_t key[SECPOL_POLICY_REVISION_KEY_MAX], const char *workspace_id,
                const char *community_id, uint64_t version)
{
    size_t n = secpol_policy_level_key (key, workspace_id, community_id);
    for (int k = 7; k >= 0; k--)
        key[n++] = (uint8_t)(version >> (8 * k));
    return n;
}

int
secpol_policy_revision_save (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                             const char *community_id, const Secpol__V1__PolicyRevision *revision)
{
    uint8_t key[SECPOL_POLICY_REVISION_KEY_MAX];
    size_t key_size = s_revision_key (key, workspace_id, community_id, revision->version);
    size_t size = secpol__v1__policy_revision__get_packed_size (revision);
    uint8_t *buffer = secpol_arena_alloc (arena, size);
    secpol__v1__policy_revision__pack (revision, buffer);
    return secpol_put (txn, &secpol_policy_revision_table, key, key_size, buffer, size);
}

int
secpol_policy_revisions (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                         const char *community_id, uint64_t from, size_t limit,
                         Secpol__V1__ListPolicyRevisionsResponse *out, uint64_t *next_p)
{
    *next_p = 0;
    uint8_t key[SECPOL_POLICY_REVISION_KEY_MAX];
    size_t key_size = s_revision_key (key, workspace_id, community_id, from);
    size_t prefix_size = key_size - 8;

    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (txn, &secpol_policy_revision_table, &cursor);
    if (rc)
        return rc;
    /* Position on the last key <= level key + from: seek the first key >=
     * it, and step back unless it is exactly that key. */
    secpol_val_t found_key, found_value;
    size_t bytes = 0;    /* packed size of the page so far */
    size_t capacity = 0; /* slots in out->revisions */
    rc = secpol_cursor_seek (cursor, key, key_size, &found_key, &found_value);
    if (rc == SECPOL_ENOTFOUND)
        rc = secpol_cursor_last (cursor, &found_key, &found_value);
    else if (rc == 0 && (found_key.size != key_size || memcmp (found_key.data, key, key_size) != 0))
        rc = secpol_cursor_prev (cursor, &found_key, &found_value);

    while (rc == 0 && secpol_val_has_prefix (found_key, key, prefix_size) &&
           found_key.size == key_size) {
        const uint8_t *tail = (const uint8_t *)found_key.data + prefix_size;
        uint64_t version = 0;
        for (int k = 0; k < 8; k++)
            version = (version << 8) | tail[k];
        bytes += found_value.size;
        if (out->n_revisions == limit ||
            (out->n_revisions > 0 && bytes > SECPOL_POLICY_PAGE_BYTES_MAX)) {
            *next_p = version;
            break;
        }
        ProtobufCMessage *revision = protobuf_c_message_unpack (
            &secpol__v1__policy_revision__descriptor, secpol_arena_allocator (arena),
            found_value.size, found_value.data);
        if (!revision) {
            rc = SECPOL_ECORRUPT;
            break;
        }
        secpol_arena_push (arena, &out->n_revisions, &capacity, (void ***)&out->revisions,
                           revision);
        rc = secpol_cursor_prev (cursor, &found_key, &found_value);
    }
    secpol_cursor_close (&cursor);
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}

bool
secpol_policy_level_key_parse (secpol_arena_t *arena, const void *key, size_t size,
                               char **workspace_id_p, char **community_id_p)
{
    const uint8_t *bytes = key;
    if (size < 2)
        return false;
    size_t ws = bytes[0];
    if (ws == 0 || ws > SECPOL_POLICY_ID_MAX || size < 2 + ws)
        return false;
    size_t community = bytes[1 + ws];
    if (community > SECPOL_POLICY_ID_MAX || size != 2 + ws + community)
        return false;
    *workspace_id_p = secpol_arena_strndup (arena, (const char *)bytes + 1, ws);
    *community_id_p = secpol_arena_strndup (arena, (const char *)bytes + 2 + ws, community);
    return true;
}

int
secpol_policy_levels (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                      const uint8_t *from, size_t from_size, size_t limit,
                      Secpol__V1__ListPoliciesResponse *out, uint8_t **next_p, size_t *next_size_p)
{
    *next_p = NULL;
    *next_size_p = 0;
    /* the levels of one workspace share the key prefix u8 len(workspace_id) workspace_id */
    uint8_t prefix[SECPOL_POLICY_KEY_MAX];
    size_t prefix_size = 0;
    if (workspace_id && *workspace_id)
        prefix_size = secpol_policy_level_key (prefix, workspace_id, "") - 1;

    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (txn, &secpol_policy_table, &cursor);
    if (rc)
        return rc;
    secpol_val_t key, value;
    if (from_size)
        rc = secpol_cursor_seek (cursor, from, from_size, &key, &value);
    else
        rc = secpol_cursor_seek (cursor, prefix_size ? prefix : NULL, prefix_size, &key, &value);
    size_t bytes = 0, capacity = 0;
    while (rc == 0 && secpol_val_has_prefix (key, prefix, prefix_size)) {
        Secpol__V1__PolicyLevelSummary *summary =
            (Secpol__V1__PolicyLevelSummary *)secpol_arena_message (
                arena, &secpol__v1__policy_level_summary__descriptor);
        Secpol__Store__V1__PolicyLevel *level = NULL;
        if (!secpol_policy_level_key_parse (arena, key.data, key.size, &summary->workspace_id,
                                            &summary->community_id) ||
            s_unpack_level (arena, value, &level) != 0) {
            rc = SECPOL_ECORRUPT;
            break;
        }
        summary->version = level->version;
        summary->updated_at = level->updated_at;
        summary->updated_by = level->updated_by;
        summary->overridden_settings = (uint32_t)level->n_overridden;
        bytes += secpol__v1__policy_level_summary__get_packed_size (summary) + 8;
        if (out->n_levels == limit || (out->n_levels > 0 && bytes > SECPOL_POLICY_PAGE_BYTES_MAX)) {
            *next_p = secpol_arena_alloc (arena, key.size);
            memcpy (*next_p, key.data, key.size);
            *next_size_p = key.size;
            break;
        }
        secpol_arena_push (arena, &out->n_levels, &capacity, (void ***)&out->levels, summary);
        rc = secpol_cursor_next (cursor, &key, &value);
    }
    secpol_cursor_close (&cursor);
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}

static int
s_load_level (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
              const char *community_id, Secpol__Store__V1__PolicyLevel **level_p)
{
    *level_p = NULL;
    uint8_t key[SECPOL_POLICY_KEY_MAX];
    size_t key_size = secpol_policy_level_key (key, workspace_id, community_id);
    secpol_val_t value;
    int rc = secpol_get (txn, &secpol_policy_table, key, key_size, &value);
    if (rc == SECPOL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    return s_unpack_level (arena, value, level_p);
}

static int
s_unpack_level (secpol_arena_t *arena, secpol_val_t value, Secpol__Store__V1__PolicyLevel **level_p)
{
    *level_p = secpol__store__v1__policy_level__unpack (secpol_arena_allocator (arena), value.size,
                                                        value.data);
    return *level_p ? 0 : SECPOL_ECORRUPT;
}
