/*  fuzz_policy_update.c - PolicyService handlers on a real LMDB store.
 *
 *  The store lives in a temporary directory made once per process. Each
 *  input runs in one top-level write transaction that is aborted at the end,
 *  so inputs leave nothing behind and a crash reproduces from its input
 *  alone. Within the input, each step runs in a nested transaction like the
 *  WRITE lane's (committed into the top one when the handler answers OK,
 *  aborted otherwise), so later steps see earlier ones: a workspace update
 *  followed by a community one exercises inheritance.
 *
 *  Input: up to 8 steps, each `op, length (2 bytes, little endian), bytes`.
 *  op bits 0-1 choose the level: workspace w1, community w1/c1, workspace
 *  w2, or the ids the message itself holds. op bits 2-3 the action: the
 *  bytes are an encoded UpdatePolicyRequest (0, 1), DeletePolicyRequest (2)
 *  or ListPolicyRevisionsRequest (3). op bit 4 replaces expected_version
 *  with the stored version. Bodies whose strings the dispatcher would refuse
 *  (secpol_wire_check_strings) or that do not unpack are skipped. With
 *  SECPOL_FUZZ_TRACE set in the environment every call and its status is
 *  printed (for reading a crash input).
 *
 *  Invariants (abort when broken):
 *  - a handler answers OK, INVALID_ARGUMENT (with at least one violation,
 *    each naming a field) or ABORTED (a stale expected_version), nothing
 *    else; on a refusal GetPolicy in the same transaction returns the very
 *    bytes it returned before: nothing was written;
 *  - UpdatePolicy OK: GetPolicy then returns exactly the policy the update
 *    returned; the version rose by one, or stayed and nothing changed; the
 *    returned policy validates (secpol_policy_validate over every leaf, and
 *    a second UpdatePolicy with mask "*" and the returned values answers
 *    OK); its headers (RenderSecurityHeaders) are printable ASCII, without
 *    CR, LF or other control characters; every allowed extension is allowed
 *    by CheckFileUpload, whatever its case;
 *  - DeletePolicy OK: the level's settings are then those of its parent
 *    (the defaults, or the workspace for a community);
 *  - ListPolicyRevisions from the first page lists versions v, v-1, ..., 1
 *    of a level at version v, over as many pages as it takes;
 *  - at the end of the input, each served policy is, leaf by leaf, the
 *    stored level's own value where it sets one (force_password_reset: the
 *    larger of own and inherited), else the parent's.
 */
#include "fuzz_support.h"

#include "arena.h"
#include "call.h"
#include "method_table.h"
#include "policy.h"
#include "policy_fields.h"
#include "policy_store.h"
#include "store.h"
#include "wire.h"

#include "secpol/v1/rpc.pb-c.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define NOW       INT64_C (1800000000)
#define MAX_STEPS 8

typedef struct {
    const char *workspace_id;
    const char *community_id;
} level_t;

typedef struct {
    int code;                         /* status of GetPolicy */
    const Secpol__V1__Policy *policy; /* on OK */
    uint8_t *packed;                  /* the policy packed, on OK */
    size_t size;
} snapshot_t;

static const level_t s_levels[] = {{"w1", ""}, {"w1", "c1"}, {"w2", ""}};
static char s_dir[PATH_MAX];
static secpol_store_t *s_store;
static secpol_method_table_t *s_methods;
static bool s_trace;                 /* SECPOL_FUZZ_TRACE set: print every call */
static level_t s_touched[MAX_STEPS]; /* levels an update of this input changed */
static size_t s_n_touched;
static const secpol_method_t *s_get, *s_update, *s_delete, *s_revisions, *s_headers, *s_upload;

static void s_cleanup (void);
static void s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes,
                    size_t size);
static void s_update_step (secpol_txn_t *txn, secpol_arena_t *arena,
                           Secpol__V1__UpdatePolicyRequest *in);
static void s_delete_step (secpol_txn_t *txn, secpol_arena_t *arena,
                           Secpol__V1__DeletePolicyRequest *in);
static void s_revisions_step (secpol_txn_t *txn, secpol_arena_t *arena,
                              Secpol__V1__ListPolicyRevisionsRequest *in);
static void s_check_policy_served (secpol_txn_t *txn, secpol_arena_t *arena, level_t level,
                                   const Secpol__V1__Policy *policy);
static void s_check_inheritance (secpol_txn_t *txn, secpol_arena_t *arena);
static void s_touch (level_t level);
static void s_check_pinned (secpol_txn_t *top, secpol_arena_t *arena, level_t level);
static int s_call (secpol_call_t *call, ProtobufCMessage **response_p,
                   const secpol_method_t *method, secpol_txn_t *txn, secpol_arena_t *arena,
                   const ProtobufCMessage *request);
static void s_check_refused (const secpol_call_t *call, int code, const char *what);
static snapshot_t s_snapshot (secpol_txn_t *txn, secpol_arena_t *arena, level_t level);
static void s_require_same (snapshot_t before, snapshot_t after, const char *what);
static uint8_t *s_pack (secpol_arena_t *arena, const ProtobufCMessage *message, size_t *size_p);
static uint8_t *s_pack_settings (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
                                 size_t *size_p);
static secpol_txn_t *s_begin (secpol_txn_t *parent);
static const secpol_method_t *s_method (const char *path);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_methods = secpol_method_table_default ();
    if (!s_methods)
        abort ();
    s_get = s_method ("/secpol.v1.PolicyService/GetPolicy");
    s_update = s_method ("/secpol.v1.PolicyService/UpdatePolicy");
    s_delete = s_method ("/secpol.v1.PolicyService/DeletePolicy");
    s_revisions = s_method ("/secpol.v1.PolicyService/ListPolicyRevisions");
    s_headers = s_method ("/secpol.v1.PolicyService/RenderSecurityHeaders");
    s_upload = s_method ("/secpol.v1.PolicyService/CheckFileUpload");
    /* s_step relies on it: each request it decodes starts with the two ids */
    const secpol_method_t *steps[] = {s_update, s_delete, s_revisions};
    for (int k = 0; k < 3; k++) {
        const ProtobufCMessageDescriptor *input = steps[k]->descriptor->input;
        if (strcmp (input->fields[0].name, "workspace_id") != 0 ||
            strcmp (input->fields[1].name, "community_id") != 0)
            abort ();
    }

    const char *tmp = getenv ("TMPDIR");
    snprintf (s_dir, sizeof s_dir, "%s/secpol-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (s_dir)) {
        perror (s_dir);
        abort ();
    }
    secpol_store_options_t options = {.no_sync = true};
    options.tables = secpol_method_table_tables (s_methods, &options.n_tables);
    int rc = secpol_store_open (&s_store, s_dir, &options);
    if (rc) {
        fprintf (stderr, "fuzz_policy_update: store in %s: %s\n", s_dir, secpol_strerror (rc));
        abort ();
    }
    atexit (s_cleanup);
    s_trace = getenv ("SECPOL_FUZZ_TRACE") != NULL;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    secpol_arena_t *arena = secpol_arena_new ();
    secpol_txn_t *top = s_begin (NULL);
    s_n_touched = 0;
    for (int steps = 0; size >= 3 && steps < MAX_STEPS; steps++) {
        uint8_t op = data[0];
        size_t length = (size_t)data[1] | (size_t)data[2] << 8;
        data += 3;
        size -= 3;
        if (length > size)
            length = size;
        /* its own buffer, so that ASan sees a read past its end */
        uint8_t *bytes = malloc (length + 1);
        memcpy (bytes, data, length);
        s_step (top, arena, op, bytes, length);
        free (bytes);
        data += length;
        size -= length;
    }
    for (size_t k = 0; k < s_n_touched; k++)
        s_check_pinned (top, arena, s_touched[k]);
    s_check_inheritance (top, arena);
    secpol_txn_abort (&top);
    secpol_arena_destroy (&arena);
    return 0;
}

static void
s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes, size_t size)
{
    unsigned action = (op >> 2) & 3;
    const ProtobufCMessageDescriptor *descriptor = action < 2    ? s_update->descriptor->input
                                                   : action == 2 ? s_delete->descriptor->input
                                                                 : s_revisions->descriptor->input;
    /* what the dispatcher does before a handler runs */
    char field[256];
    const char *problem;
    if (!secpol_wire_check_strings (descriptor, bytes, size, field, sizeof field, &problem)) {
        if (s_trace)
            fprintf (stderr, "step op=0x%02x: skipped, %s %s\n", op, field, problem);
        return;
    }
    ProtobufCMessage *request =
        protobuf_c_message_unpack (descriptor, secpol_arena_allocator (arena), size, bytes);
    if (!request) {
        if (s_trace)
            fprintf (stderr, "step op=0x%02x: skipped, not a %s\n", op, descriptor->name);
        return;
    }

    /* every one of the three request types starts with workspace_id, community_id */
    char **workspace_id = (char **)((char *)request + descriptor->fields[0].offset);
    char **community_id = (char **)((char *)request + descriptor->fields[1].offset);
    if ((op & 3) < 3) {
        *workspace_id = (char *)s_levels[op & 3].workspace_id;
        *community_id = (char *)s_levels[op & 3].community_id;
    }
    uint64_t stored_version = 0;
    if (op & 0x10) {
        snapshot_t now = s_snapshot (top, arena, (level_t){*workspace_id, *community_id});
        stored_version = now.code == SECPOL_OK ? now.policy->version : 0;
    }

    secpol_txn_t *txn = s_begin (top);
    if (action < 2) {
        Secpol__V1__UpdatePolicyRequest *in = (Secpol__V1__UpdatePolicyRequest *)request;
        if (op & 0x10)
            in->expected_version = stored_version;
        s_update_step (txn, arena, in);
    } else if (action == 2) {
        Secpol__V1__DeletePolicyRequest *in = (Secpol__V1__DeletePolicyRequest *)request;
        if (op & 0x10)
            in->expected_version = stored_version;
        s_delete_step (txn, arena, in);
    } else
        s_revisions_step (txn, arena, (Secpol__V1__ListPolicyRevisionsRequest *)request);
}

/*  Runs UpdatePolicy in txn (a nested transaction it ends). */
static void
s_update_step (secpol_txn_t *txn, secpol_arena_t *arena, Secpol__V1__UpdatePolicyRequest *in)
{
    level_t level = {in->workspace_id, in->community_id};
    snapshot_t before = s_snapshot (txn, arena, level);
    secpol_call_t call;
    ProtobufCMessage *response;
    int code = s_call (&call, &response, s_update, txn, arena, &in->base);
    if (code != SECPOL_OK) {
        s_check_refused (&call, code, "UpdatePolicy");
        FUZZ_REQUIRE (code != SECPOL_ABORTED || in->expected_version != 0,
                      "ABORTED without an expected_version");
        s_require_same (before, s_snapshot (txn, arena, level), "a refused UpdatePolicy");
        secpol_txn_abort (&txn);
        return;
    }
    const Secpol__V1__Policy *policy = (const Secpol__V1__Policy *)response;
    FUZZ_REQUIRE (before.code == SECPOL_OK, "UpdatePolicy OK where GetPolicy says %d", before.code);
    snapshot_t after = s_snapshot (txn, arena, level);
    FUZZ_REQUIRE (after.code == SECPOL_OK, "GetPolicy after an update: %d", after.code);
    size_t size;
    uint8_t *packed = s_pack (arena, response, &size);
    FUZZ_REQUIRE (size == after.size && memcmp (packed, after.packed, size) == 0,
                  "GetPolicy does not return what UpdatePolicy returned (version %" PRIu64
                  " / %" PRIu64 ")",
                  policy->version, after.policy->version);
    if (policy->version == before.policy->version)
        s_require_same (before, after, "an UpdatePolicy that kept the version");
    else {
        FUZZ_REQUIRE (policy->version == before.policy->version + 1,
                      "version %" PRIu64 " after %" PRIu64, policy->version,
                      before.policy->version);
        FUZZ_REQUIRE (policy->updated_at == NOW, "updated_at %" PRId64, policy->updated_at);
        FUZZ_REQUIRE (strcmp (policy->updated_by, in->actor) == 0,
                      "updated_by \"%s\", actor \"%s\"", policy->updated_by, in->actor);
    }
    s_check_policy_served (txn, arena, level, policy);

    s_touch (level);
    FUZZ_REQUIRE (secpol_txn_commit (&txn) == 0, "commit of a nested transaction");
}

/*  Runs DeletePolicy in txn (a nested transaction it ends). */
static void
s_delete_step (secpol_txn_t *txn, secpol_arena_t *arena, Secpol__V1__DeletePolicyRequest *in)
{
    level_t level = {in->workspace_id, in->community_id};
    snapshot_t before = s_snapshot (txn, arena, level);
    secpol_call_t call;
    ProtobufCMessage *response;
    int code = s_call (&call, &response, s_delete, txn, arena, &in->base);
    if (code != SECPOL_OK) {
        s_check_refused (&call, code, "DeletePolicy");
        s_require_same (before, s_snapshot (txn, arena, level), "a refused DeletePolicy");
        secpol_txn_abort (&txn);
        return;
    }
    const Secpol__V1__DeletePolicyResponse *out =
        (const Secpol__V1__DeletePolicyResponse *)response;
    FUZZ_REQUIRE (before.code == SECPOL_OK && out->policy, "DeletePolicy OK without a policy");
    snapshot_t after = s_snapshot (txn, arena, level);
    FUZZ_REQUIRE (after.code == SECPOL_OK, "GetPolicy after a delete: %d", after.code);
    size_t size;
    uint8_t *packed = s_pack (arena, &out->policy->base, &size);
    FUZZ_REQUIRE (size == after.size && memcmp (packed, after.packed, size) == 0,
                  "GetPolicy does not return what DeletePolicy returned");
    FUZZ_REQUIRE (after.policy->version == before.policy->version + (out->deleted ? 1 : 0),
                  "version %" PRIu64 " after %" PRIu64 " (deleted %d)", after.policy->version,
                  before.policy->version, (int)out->deleted);

    /* the level now inherits everything */
    const Secpol__V1__Policy *parent = secpol_policy_defaults (arena);
    if (*level.community_id) {
        snapshot_t workspace = s_snapshot (txn, arena, (level_t){level.workspace_id, ""});
        FUZZ_REQUIRE (workspace.code == SECPOL_OK, "GetPolicy of the workspace: %d",
                      workspace.code);
        parent = workspace.policy;
    }
    /* ... but force_password_reset, which never goes down: the level keeps
     * its high-water mark across the delete */
    Secpol__V1__Policy *expected = secpol_policy_new (arena);
    for (size_t i = 0; i < secpol_policy_field_count (); i++)
        secpol_policy_leaf_copy (arena, expected, parent, i);
    if (before.policy->force_password_reset > expected->force_password_reset)
        expected->force_password_reset = before.policy->force_password_reset;
    size_t parent_size;
    uint8_t *inherited = s_pack_settings (arena, expected, &parent_size);
    uint8_t *settings = s_pack_settings (arena, after.policy, &size);
    FUZZ_REQUIRE (size == parent_size && memcmp (settings, inherited, size) == 0,
                  "after DeletePolicy the level does not have its parent's settings (and "
                  "its force_password_reset)");
    s_check_policy_served (txn, arena, level, after.policy);
    FUZZ_REQUIRE (secpol_txn_commit (&txn) == 0, "commit of a nested transaction");
}

/*  Runs ListPolicyRevisions page after page in txn (a nested transaction it
 *  ends). */
static void
s_revisions_step (secpol_txn_t *txn, secpol_arena_t *arena,
                  Secpol__V1__ListPolicyRevisionsRequest *in)
{
    level_t level = {in->workspace_id, in->community_id};
    bool from_start = !*in->page_token;
    snapshot_t now = s_snapshot (txn, arena, level);
    uint64_t expected = now.code == SECPOL_OK ? now.policy->version : 0;
    uint64_t previous = UINT64_MAX;
    for (int page = 0; page < 1000; page++) {
        secpol_call_t call;
        ProtobufCMessage *response;
        int code = s_call (&call, &response, s_revisions, txn, arena, &in->base);
        if (code != SECPOL_OK) {
            s_check_refused (&call, code, "ListPolicyRevisions");
            FUZZ_REQUIRE (page == 0, "page %d refused: %s", page, call.message);
            break;
        }
        const Secpol__V1__ListPolicyRevisionsResponse *out =
            (const Secpol__V1__ListPolicyRevisionsResponse *)response;
        size_t limit = in->page_size == 0 ? 50 : in->page_size > 500 ? 500 : in->page_size;
        FUZZ_REQUIRE (out->n_revisions <= limit, "%zu revisions on a page of %zu", out->n_revisions,
                      limit);
        for (size_t k = 0; k < out->n_revisions; k++) {
            uint64_t version = out->revisions[k]->version;
            FUZZ_REQUIRE (version < previous && version >= 1, "version %" PRIu64 " after %" PRIu64,
                          version, previous);
            if (from_start)
                FUZZ_REQUIRE (version == expected,
                              "revision %" PRIu64 " where %" PRIu64 " was expected", version,
                              expected);
            expected--;
            previous = version;
        }
        if (!*out->next_page_token)
            break;
        FUZZ_REQUIRE (out->n_revisions > 0, "an empty page with a next page");
        in->page_token = out->next_page_token;
    }
    if (from_start)
        FUZZ_REQUIRE (expected == 0 || now.code != SECPOL_OK,
                      "revisions end before version 1 (%" PRIu64 " missing)", expected);
    secpol_txn_abort (&txn);
}

/*  What RenderSecurityHeaders and CheckFileUpload make of a policy just
 *  served for level. */
static void
s_check_policy_served (secpol_txn_t *txn, secpol_arena_t *arena, level_t level,
                       const Secpol__V1__Policy *policy)
{
    secpol_policy_violation_t *violations;
    size_t n = secpol_policy_validate (arena, policy, secpol_policy_mask_all (), policy, NULL,
                                       &violations);
    FUZZ_REQUIRE (n == 0, "served policy is invalid: %s %s", violations[0].field,
                  violations[0].description);

    Secpol__V1__RenderSecurityHeadersRequest render =
        SECPOL__V1__RENDER_SECURITY_HEADERS_REQUEST__INIT;
    render.workspace_id = (char *)level.workspace_id;
    render.community_id = (char *)level.community_id;
    secpol_call_t call;
    ProtobufCMessage *response;
    int code = s_call (&call, &response, s_headers, txn, arena, &render.base);
    FUZZ_REQUIRE (code == SECPOL_OK, "RenderSecurityHeaders: %d %s", code, call.message);
    const Secpol__V1__RenderSecurityHeadersResponse *headers =
        (const Secpol__V1__RenderSecurityHeadersResponse *)response;
    for (size_t k = 0; k < headers->n_headers; k++) {
        const char *name = headers->headers[k]->name;
        const char *value = headers->headers[k]->value;
        FUZZ_REQUIRE (*name && *value, "header %zu: \"%s: %s\"", k, name, value);
        for (const char *p = value; *p; p++)
            FUZZ_REQUIRE (*p >= 0x20 && *p < 0x7f, "header %s holds byte 0x%02x", name,
                          (unsigned char)*p);
    }
    for (size_t k = 0; k < headers->n_warnings; k++)
        FUZZ_REQUIRE (*headers->warnings[k], "empty warning");

    /* every allowed extension is allowed, in any case; a name without one is not */
    size_t n_extensions = policy->n_allowed_file_extensions;
    for (size_t k = 0; k < 4; k++) {
        /* the first, middle and last extension, then a name without one */
        size_t pick = k == 0 ? 0 : k == 1 ? n_extensions / 2 : n_extensions - 1;
        if (k < 3 &&
            (n_extensions == 0 || (k > 0 && pick == 0) || (k == 2 && pick == n_extensions / 2)))
            continue;
        const char *extension = k < 3 ? policy->allowed_file_extensions[pick] : NULL;
        Secpol__V1__CheckFileUploadRequest upload = SECPOL__V1__CHECK_FILE_UPLOAD_REQUEST__INIT;
        upload.workspace_id = (char *)level.workspace_id;
        upload.community_id = (char *)level.community_id;
        char name[64];
        if (extension) {
            snprintf (name, sizeof name, "dir/Report.%s", extension);
            for (char *p = strrchr (name, '.'); *p; p++)
                if (k % 2 && *p >= 'a' && *p <= 'z')
                    *p = (char)(*p - 'a' + 'A');
        } else
            snprintf (name, sizeof name, "README");
        upload.filename = name;
        code = s_call (&call, &response, s_upload, txn, arena, &upload.base);
        FUZZ_REQUIRE (code == SECPOL_OK, "CheckFileUpload %s: %d %s", name, code, call.message);
        const Secpol__V1__CheckFileUploadResponse *out =
            (const Secpol__V1__CheckFileUploadResponse *)response;
        if (extension)
            FUZZ_REQUIRE (out->allowed && strcmp (out->extension, extension) == 0,
                          "%s refused (%s) though \"%s\" is allowed", name, out->reason, extension);
        else
            FUZZ_REQUIRE (!out->allowed && *out->reason, "%s allowed", name);
    }
}

/*  Remembers a level an update answered OK for (its ids live in the
 *  input's arena). */
static void
s_touch (level_t level)
{
    for (size_t k = 0; k < s_n_touched; k++)
        if (strcmp (s_touched[k].workspace_id, level.workspace_id) == 0 &&
            strcmp (s_touched[k].community_id, level.community_id) == 0)
            return;
    if (s_n_touched < MAX_STEPS)
        s_touched[s_n_touched++] = level;
}

/*  The policy GetPolicy serves for level, every value of it set again at
 *  that level (UpdatePolicy, mask "*"), passes validation and changes no
 *  setting. Run once per level at the end of an input, not after each
 *  update: a nested LMDB transaction costs two large allocations, which
 *  ASan makes slow, and every returned policy already went through
 *  secpol_policy_validate in s_check_policy_served. */
static void
s_check_pinned (secpol_txn_t *top, secpol_arena_t *arena, level_t level)
{
    snapshot_t now = s_snapshot (top, arena, level);
    FUZZ_REQUIRE (now.code == SECPOL_OK, "GetPolicy of an updated level: %d", now.code);
    secpol_txn_t *txn = s_begin (top);
    Secpol__V1__UpdatePolicyRequest pin = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    char *all[] = {"*"};
    pin.workspace_id = (char *)level.workspace_id;
    pin.community_id = (char *)level.community_id;
    pin.policy = (Secpol__V1__Policy *)now.policy;
    pin.n_update_mask = 1;
    pin.update_mask = all;
    secpol_call_t call;
    ProtobufCMessage *pinned;
    int code = s_call (&call, &pinned, s_update, txn, arena, &pin.base);
    FUZZ_REQUIRE (
        code == SECPOL_OK, "the served policy does not validate: %s%s%s",
        call.message ? call.message : "", call.n_violations ? ": " : "",
        call.n_violations ? ((Secpol__V1__FieldViolation *)call.violations[0])->description : "");
    size_t size, pinned_size;
    uint8_t *settings = s_pack_settings (arena, now.policy, &size);
    uint8_t *pinned_settings =
        s_pack_settings (arena, (const Secpol__V1__Policy *)pinned, &pinned_size);
    FUZZ_REQUIRE (size == pinned_size && memcmp (settings, pinned_settings, size) == 0,
                  "setting every value to itself changed the policy");
    secpol_txn_abort (&txn);
}

/*  What holds between the levels at the end of an input: the served policy
 *  of w1, w1/c1 and w2 is, leaf by leaf, the stored level's own value where
 *  the level sets one (for force_password_reset: the larger of the two),
 *  else the parent's (the defaults for a workspace, the workspace for a
 *  community). The stored record is read raw, the parent through GetPolicy. */
static void
s_check_inheritance (secpol_txn_t *txn, secpol_arena_t *arena)
{
    snapshot_t workspace = s_snapshot (txn, arena, s_levels[0]);
    FUZZ_REQUIRE (workspace.code == SECPOL_OK, "GetPolicy w1: %d", workspace.code);
    const Secpol__V1__Policy *defaults = secpol_policy_defaults (arena);
    const Secpol__V1__Policy *parents[] = {defaults, workspace.policy, defaults};
    for (size_t k = 0; k < 3; k++) {
        level_t level = s_levels[k];
        snapshot_t served = s_snapshot (txn, arena, level);
        FUZZ_REQUIRE (served.code == SECPOL_OK, "GetPolicy: %d", served.code);
        secpol_policy_view_t view;
        int rc = secpol_policy_view (txn, arena, level.workspace_id, level.community_id, &view);
        FUZZ_REQUIRE (rc == 0, "policy view: %s", secpol_strerror (rc));
        secpol_policy_mask_t mask = secpol_policy_level_mask (view.level);
        const Secpol__V1__Policy *own =
            view.level && view.level->values ? view.level->values : secpol_policy_new (arena);
        FUZZ_REQUIRE (served.policy->version == (view.level ? view.level->version : 0),
                      "served version %" PRIu64, served.policy->version);
        for (size_t i = 0; i < secpol_policy_field_count (); i++) {
            const secpol_policy_field_t *field = secpol_policy_field (i);
            bool set = mask & (UINT64_C (1) << i);
            if (field->merge == SECPOL_POLICY_MERGE_MAX) {
                /* the table's one MAX leaf */
                FUZZ_REQUIRE (strcmp (field->path, "force_password_reset") == 0, "%s", field->path);
                uint64_t inherited = parents[k]->force_password_reset;
                uint64_t mine = set ? own->force_password_reset : 0;
                /* the high-water mark the level keeps, deletes included */
                if (view.level && view.level->high_water &&
                    view.level->high_water->force_password_reset > mine)
                    mine = view.level->high_water->force_password_reset;
                FUZZ_REQUIRE (
                    served.policy->force_password_reset == (mine > inherited ? mine : inherited),
                    "%s/%s force_password_reset %" PRIu64 ", inherited %" PRIu64 ", own %" PRIu64,
                    level.workspace_id, level.community_id, served.policy->force_password_reset,
                    inherited, mine);
            } else
                FUZZ_REQUIRE (secpol_policy_leaf_equal (served.policy, set ? own : parents[k], i),
                              "%s/%s %s is \"%s\", not the %s \"%s\"", level.workspace_id,
                              level.community_id, field->path,
                              secpol_policy_leaf_text (arena, served.policy, i),
                              set ? "level's own" : "inherited",
                              secpol_policy_leaf_text (arena, set ? own : parents[k], i));
        }
        if (k == 1)
            s_check_policy_served (txn, arena, level, served.policy);
    }
}

/*  Calls a handler the way the dispatcher does: a fresh call in arena, a
 *  response of the method's output type. */
static int
s_call (secpol_call_t *call, ProtobufCMessage **response_p, const secpol_method_t *method,
        secpol_txn_t *txn, secpol_arena_t *arena, const ProtobufCMessage *request)
{
    memset (call, 0, sizeof *call);
    call->arena = arena;
    call->txn = txn;
    call->now = NOW;
    call->method = method->path;
    call->request_id = "";
    call->caller = "";
    call->role = SECPOL_ROLE_ADMIN;
    *response_p = secpol_arena_message (arena, method->descriptor->output);
    int code = method->spec->handler->fn (call, request, *response_p);
    if (s_trace) {
        const ProtobufCFieldDescriptor *ids = request->descriptor->fields;
        fprintf (stderr, "  %s (\"%s\", \"%s\"): %s%s%s\n", method->path,
                 *(char *const *)((const char *)request + ids[0].offset),
                 *(char *const *)((const char *)request + ids[1].offset), secpol_status_name (code),
                 call->message ? ": " : "", call->message ? call->message : "");
    }
    return code;
}

static void
s_check_refused (const secpol_call_t *call, int code, const char *what)
{
    FUZZ_REQUIRE (code == SECPOL_INVALID_ARGUMENT || code == SECPOL_ABORTED, "%s answered %d: %s",
                  what, code, call->message ? call->message : "");
    FUZZ_REQUIRE (call->message && *call->message, "%s answered %d without a message", what, code);
    if (code == SECPOL_INVALID_ARGUMENT)
        FUZZ_REQUIRE (call->n_violations > 0, "%s: INVALID_ARGUMENT without a violation", what);
    for (size_t k = 0; k < call->n_violations; k++) {
        const Secpol__V1__FieldViolation *v =
            (const Secpol__V1__FieldViolation *)call->violations[k];
        FUZZ_REQUIRE (*v->field && *v->description, "%s: violation %zu is \"%s\": \"%s\"", what, k,
                      v->field, v->description);
    }
}

static snapshot_t
s_snapshot (secpol_txn_t *txn, secpol_arena_t *arena, level_t level)
{
    Secpol__V1__GetPolicyRequest get = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    get.workspace_id = (char *)level.workspace_id;
    get.community_id = (char *)level.community_id;
    secpol_call_t call;
    ProtobufCMessage *response;
    snapshot_t snapshot = {0};
    snapshot.code = s_call (&call, &response, s_get, txn, arena, &get.base);
    if (snapshot.code == SECPOL_OK) {
        snapshot.policy = (const Secpol__V1__Policy *)response;
        snapshot.packed = s_pack (arena, response, &snapshot.size);
    } else
        s_check_refused (&call, snapshot.code, "GetPolicy");
    return snapshot;
}

static void
s_require_same (snapshot_t before, snapshot_t after, const char *what)
{
    FUZZ_REQUIRE (before.code == after.code, "%s: GetPolicy said %d, now %d", what, before.code,
                  after.code);
    FUZZ_REQUIRE (before.size == after.size &&
                      (before.size == 0 || memcmp (before.packed, after.packed, before.size) == 0),
                  "%s changed the stored policy", what);
}

static uint8_t *
s_pack (secpol_arena_t *arena, const ProtobufCMessage *message, size_t *size_p)
{
    *size_p = protobuf_c_message_get_packed_size (message);
    uint8_t *packed = secpol_arena_alloc (arena, *size_p);
    FUZZ_REQUIRE (protobuf_c_message_pack (message, packed) == *size_p, "pack");
    return packed;
}

/*  The settings of a policy packed, without its metadata. */
static uint8_t *
s_pack_settings (secpol_arena_t *arena, const Secpol__V1__Policy *policy, size_t *size_p)
{
    Secpol__V1__Policy settings = *policy;
    settings.version = 0;
    settings.updated_at = 0;
    settings.updated_by = "";
    return s_pack (arena, &settings.base, size_p);
}

static secpol_txn_t *
s_begin (secpol_txn_t *parent)
{
    secpol_txn_t *txn = NULL;
    int rc = secpol_txn_begin (s_store, parent, true, &txn);
    FUZZ_REQUIRE (rc == 0, "transaction: %s", secpol_strerror (rc));
    return txn;
}

static const secpol_method_t *
s_method (const char *path)
{
    const secpol_method_t *method = secpol_method_table_find (s_methods, path);
    if (!method || !method->spec || !method->spec->handler) {
        fprintf (stderr, "fuzz_policy_update: no handler for %s\n", path);
        abort ();
    }
    return method;
}

static void
s_cleanup (void)
{
    secpol_store_close (&s_store);
    secpol_method_table_destroy (&s_methods);
    char path[PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/data.mdb", s_dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/lock.mdb", s_dir);
    unlink (path);
    rmdir (s_dir);
}
