/*  fuzz_small_handlers.c - the handlers no other target reaches, through
 *  the real method table on a real store: Health/Check,
 *  TestClockService/SetOffset, PolicyService/ListPolicies,
 *  PasswordService/CheckPassword (its SLOW prepare step, which holds all
 *  of it), AdminService/GetStats and AdminService/Backup (its prepare step;
 *  an absolute path is replaced by a fresh one in a directory of the
 *  target's own, removed at exit, so that no input writes elsewhere; at
 *  most 64 backups a process). With fuzz_token, fuzz_session, fuzz_lockout, fuzz_password,
 *  fuzz_otp, fuzz_policy_update and fuzz_audit, every implemented method
 *  is reached by a fuzz target (unit/test_method_roles checks that each
 *  method's path is named in one).
 *
 *  The store holds three levels made at start (w1, w1/c1 and w2, w2 with
 *  a minimum password change interval). Input: byte 0 picks the method
 *  (% 6: Check, SetOffset, ListPolicies, CheckPassword, GetStats, Backup),
 *  the rest is its
 *  encoded request (skipped when the dispatcher's string check refuses it
 *  or it does not unpack). Reads run in a read-only transaction,
 *  CheckPassword's prepare in none, as on the SLOW lane.
 *
 *  Invariants (abort when broken):
 *  - every answer is OK, or INVALID_ARGUMENT with named violations;
 *  - Check: SERVING, this version, the clock it was given;
 *  - SetOffset: refused exactly beyond +-100 years; taken, the server's
 *    offset is the one asked and the answer's clock moved by it;
 *  - ListPolicies: at most the page size, levels in strictly increasing
 *    (workspace, community) order, of the workspace asked, each at version
 *    1 or more; a token it answers continues after the page's last level;
 *  - CheckPassword: ok exactly when no violation; each violation has a
 *    code and a message, and no message repeats the password when it is
 *    longer than 3 bytes;
 *  - GetStats: OK, listing the audit table among the store's tables;
 *  - Backup: OK (a directory with data.mdb and secret.key, and the same
 *    path again is ALREADY_EXISTS), or INVALID_ARGUMENT, or
 *    FAILED_PRECONDITION with a message.
 */
#include "fuzz_support.h"
#include "service_harness.h"

#include "arena.h"
#include "call.h"
#include "server.h"
#include "store.h"
#include "wire.h"

#include "log.h"

#include "secpol/v1/admin.pb-c.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/password.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/test_clock.pb-c.h"

#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW         INT64_C (1800000000)
#define MAX_BACKUPS 64

static fuzz_service_t s_service;
static const secpol_method_t *s_methods[6];
static char s_backups[PATH_MAX]; /* where Backup writes */
static unsigned s_n_backups;     /* made so far */

static void s_seed (const char *workspace, const char *community, uint32_t interval_days);
static void s_backup (secpol_arena_t *arena, Secpol__V1__BackupRequest *in);
static void s_remove_backups (void);
static void s_check_levels (secpol_txn_t *txn, secpol_arena_t *arena,
                            Secpol__V1__ListPoliciesRequest *in, int depth);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_start (&s_service, "fuzz_small_handlers");
    s_methods[0] = fuzz_service_method (&s_service, "/secpol.v1.Health/Check");
    s_methods[1] = fuzz_service_method (&s_service, "/secpol.v1.TestClockService/SetOffset");
    s_methods[2] = fuzz_service_method (&s_service, "/secpol.v1.PolicyService/ListPolicies");
    s_methods[3] = fuzz_service_method (&s_service, "/secpol.v1.PasswordService/CheckPassword");
    s_methods[4] = fuzz_service_method (&s_service, "/secpol.v1.AdminService/GetStats");
    s_methods[5] = fuzz_service_method (&s_service, "/secpol.v1.AdminService/Backup");
    secpol_log_set_level (SECPOL_LOG_WARN); /* a line per backup otherwise */
    const char *tmp = getenv ("TMPDIR");
    snprintf (s_backups, sizeof s_backups, "%s/secpol-fuzz-backups-XXXXXX",
              tmp && *tmp ? tmp : "/tmp");
    FUZZ_REQUIRE (mkdtemp (s_backups), "mkdtemp %s", s_backups);
    atexit (s_remove_backups);
    s_seed ("w1", "", 0);
    s_seed ("w1", "c1", 0);
    s_seed ("w2", "", 3);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const secpol_method_t *method = s_methods[data[0] % 6];
    const ProtobufCMessageDescriptor *descriptor = method->descriptor->input;
    char field[256];
    const char *problem;
    uint8_t *bytes = malloc (size); /* its own, so that ASan sees a read past it */
    memcpy (bytes, data + 1, size - 1);
    secpol_arena_t *arena = secpol_arena_new ();
    ProtobufCMessage *request = NULL;
    if (secpol_wire_check_strings (descriptor, bytes, size - 1, field, sizeof field, &problem))
        request =
            protobuf_c_message_unpack (descriptor, secpol_arena_allocator (arena), size - 1, bytes);
    free (bytes);
    if (!request) {
        secpol_arena_destroy (&arena);
        return 0;
    }
    secpol_call_t call;
    ProtobufCMessage *response = NULL;
    if (method == s_methods[3]) { /* the SLOW prepare step: no transaction */
        int code = fuzz_service_call (&s_service, NULL, arena, method, method->spec->prepare, false,
                                      true, NOW, NULL, request, &response, &call);
        FUZZ_REQUIRE (code == SECPOL_OK || code == SECPOL_INVALID_ARGUMENT, "CheckPassword: %d",
                      code);
        if (code == SECPOL_INVALID_ARGUMENT)
            fuzz_require_violations (&call, method->path);
        else {
            const Secpol__V1__CheckPasswordRequest *in =
                (const Secpol__V1__CheckPasswordRequest *)request;
            const Secpol__V1__CheckPasswordResponse *out =
                (const Secpol__V1__CheckPasswordResponse *)response;
            FUZZ_REQUIRE (out->ok == (out->n_violations == 0), "ok %d with %zu violations", out->ok,
                          out->n_violations);
            for (size_t k = 0; k < out->n_violations; k++) {
                const Secpol__V1__PasswordViolation *v = out->violations[k];
                FUZZ_REQUIRE (*v->code && *v->message, "a violation without code or message");
                FUZZ_REQUIRE (strlen (in->password) <= 3 || !strstr (v->message, in->password),
                              "violation %s repeats the password", v->code);
            }
        }
        secpol_arena_destroy (&arena);
        return 0;
    }
    if (method == s_methods[5]) {
        s_backup (arena, (Secpol__V1__BackupRequest *)request);
        secpol_arena_destroy (&arena);
        return 0;
    }
    secpol_txn_t *txn = NULL;
    int rc = secpol_txn_begin (s_service.store, NULL, false, &txn);
    FUZZ_REQUIRE (rc == 0, "read transaction: %s", secpol_strerror (rc));
    int64_t offset_before = secpol_server_clock_offset (s_service.server);
    int code = fuzz_service_call (&s_service, txn, arena, method, method->spec->handler, false,
                                  false, NOW, NULL, request, &response, &call);
    FUZZ_REQUIRE (code == SECPOL_OK || code == SECPOL_INVALID_ARGUMENT, "%s: %d", method->path,
                  code);
    if (code == SECPOL_INVALID_ARGUMENT)
        fuzz_require_violations (&call, method->path);
    if (method == s_methods[0]) {
        const Secpol__V1__HealthCheckResponse *out =
            (const Secpol__V1__HealthCheckResponse *)response;
        FUZZ_REQUIRE (code == SECPOL_OK && out->status == SECPOL__V1__SERVING_STATUS__SERVING &&
                          strcmp (out->version, SECPOL_VERSION) == 0 && out->now == NOW,
                      "Check: not SERVING now");
    } else if (method == s_methods[1]) {
        const Secpol__V1__SetOffsetRequest *in = (const Secpol__V1__SetOffsetRequest *)request;
        const int64_t limit = INT64_C (100) * 366 * 86400;
        bool allowed = in->offset_seconds <= limit && in->offset_seconds >= -limit;
        FUZZ_REQUIRE ((code == SECPOL_OK) == allowed, "SetOffset %lld answered %d",
                      (long long)in->offset_seconds, code);
        if (allowed) {
            const Secpol__V1__SetOffsetResponse *out =
                (const Secpol__V1__SetOffsetResponse *)response;
            FUZZ_REQUIRE (secpol_server_clock_offset (s_service.server) == in->offset_seconds &&
                              out->now == NOW - offset_before + in->offset_seconds,
                          "SetOffset did not set the offset");
        }
        secpol_server_set_clock_offset (s_service.server, 0);
    } else if (method == s_methods[4]) {
        const Secpol__V1__GetStatsResponse *out = (const Secpol__V1__GetStatsResponse *)response;
        bool audit = false;
        for (size_t k = 0; code == SECPOL_OK && out->store && k < out->store->n_tables; k++)
            audit |= strcmp (out->store->tables[k]->name, "audit") == 0;
        FUZZ_REQUIRE (code == SECPOL_OK && audit, "GetStats: %d, audit table listed: %d", code,
                      audit);
    } else if (code == SECPOL_OK)
        s_check_levels (txn, arena, (Secpol__V1__ListPoliciesRequest *)request, 0);
    secpol_txn_abort (&txn);
    secpol_arena_destroy (&arena);
    return 0;
}

/*  Runs ListPolicies in txn and checks its page; follows a token once. */
static void
s_check_levels (secpol_txn_t *txn, secpol_arena_t *arena, Secpol__V1__ListPoliciesRequest *in,
                int depth)
{
    secpol_call_t call;
    ProtobufCMessage *response = NULL;
    int code = fuzz_service_call (&s_service, txn, arena, s_methods[2], s_methods[2]->spec->handler,
                                  false, false, NOW, NULL, &in->base, &response, &call);
    FUZZ_REQUIRE (code == SECPOL_OK, "ListPolicies answered %d the second time", code);
    const Secpol__V1__ListPoliciesResponse *out =
        (const Secpol__V1__ListPoliciesResponse *)response;
    size_t limit = in->page_size == 0 ? 50 : in->page_size > 500 ? 500 : in->page_size;
    FUZZ_REQUIRE (out->n_levels <= limit, "%zu levels for a page of %zu", out->n_levels, limit);
    for (size_t k = 0; k < out->n_levels; k++) {
        const Secpol__V1__PolicyLevelSummary *level = out->levels[k];
        FUZZ_REQUIRE (!*in->workspace_id || strcmp (level->workspace_id, in->workspace_id) == 0,
                      "a level of %s listed for %s", level->workspace_id, in->workspace_id);
        FUZZ_REQUIRE (level->version >= 1, "a level at version 0");
        if (k > 0) {
            const Secpol__V1__PolicyLevelSummary *before = out->levels[k - 1];
            int order = strcmp (before->workspace_id, level->workspace_id);
            if (order == 0)
                order = strcmp (before->community_id, level->community_id);
            FUZZ_REQUIRE (order < 0, "levels out of order");
        }
    }
    if (*out->next_page_token && depth == 0 && out->n_levels) {
        const Secpol__V1__PolicyLevelSummary *last = out->levels[out->n_levels - 1];
        Secpol__V1__ListPoliciesRequest next = *in;
        next.page_token = out->next_page_token;
        secpol_call_t next_call;
        ProtobufCMessage *next_response = NULL;
        FUZZ_REQUIRE (fuzz_service_call (&s_service, txn, arena, s_methods[2],
                                         s_methods[2]->spec->handler, false, false, NOW, NULL,
                                         &next.base, &next_response, &next_call) == SECPOL_OK,
                      "the token ListPolicies gave is refused");
        const Secpol__V1__ListPoliciesResponse *page =
            (const Secpol__V1__ListPoliciesResponse *)next_response;
        if (page->n_levels) {
            int order = strcmp (last->workspace_id, page->levels[0]->workspace_id);
            if (order == 0)
                order = strcmp (last->community_id, page->levels[0]->community_id);
            FUZZ_REQUIRE (order < 0, "the next page does not continue after the last level");
        }
    }
}

/*  Stores a level through UpdatePolicy, committed. */
static void
s_seed (const char *workspace, const char *community, uint32_t interval_days)
{
    const secpol_method_t *update =
        fuzz_service_method (&s_service, "/secpol.v1.PolicyService/UpdatePolicy");
    secpol_arena_t *arena = secpol_arena_new ();
    secpol_txn_t *top = NULL;
    FUZZ_REQUIRE (secpol_txn_begin (s_service.store, NULL, true, &top) == 0, "seed txn");
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.password_change_interval_days = interval_days;
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = (char *)workspace;
    request.community_id = (char *)community;
    request.policy = &policy;
    char *mask[] = {"password_change_interval_days"};
    request.n_update_mask = 1;
    request.update_mask = mask;
    secpol_call_t call;
    ProtobufCMessage *response = NULL;
    int code = fuzz_service_call (&s_service, top, arena, update, update->spec->handler, true,
                                  false, NOW, NULL, &request.base, &response, &call);
    FUZZ_REQUIRE (code == SECPOL_OK, "seed %s/%s: %d %s", workspace, community, code,
                  call.message ? call.message : "");
    FUZZ_REQUIRE (secpol_txn_commit (&top) == 0, "seed commit");
    secpol_arena_destroy (&arena);
}

/*  Backup's prepare step, as on the SLOW lane (no transaction), with an
 *  absolute path moved into s_backups. */
static void
s_backup (secpol_arena_t *arena, Secpol__V1__BackupRequest *in)
{
    if (in->path[0] == '/') {
        if (s_n_backups >= MAX_BACKUPS)
            return;
        in->path = secpol_arena_printf (arena, "%s/b%u", s_backups, s_n_backups++);
    }
    for (int round = 0; round < 2; round++) {
        secpol_call_t call;
        ProtobufCMessage *response = NULL;
        int code =
            fuzz_service_call (&s_service, NULL, arena, s_methods[5], s_methods[5]->spec->prepare,
                               false, true, NOW, NULL, &in->base, &response, &call);
        if (code == SECPOL_INVALID_ARGUMENT) {
            fuzz_require_violations (&call, s_methods[5]->path);
            return;
        }
        if (code == SECPOL_FAILED_PRECONDITION) {
            FUZZ_REQUIRE (call.message && *call.message, "FAILED_PRECONDITION without a message");
            return;
        }
        if (round == 1) {
            FUZZ_REQUIRE (code == SECPOL_ALREADY_EXISTS, "a second backup to %s answered %d",
                          in->path, code);
            return;
        }
        FUZZ_REQUIRE (code == SECPOL_OK, "Backup to %s answered %d: %s", in->path, code,
                      call.message ? call.message : "");
        char file[PATH_MAX + 32];
        struct stat st;
        snprintf (file, sizeof file, "%s/data.mdb", in->path);
        FUZZ_REQUIRE (stat (file, &st) == 0 && st.st_size > 0, "no data.mdb in %s", in->path);
        snprintf (file, sizeof file, "%s/secret.key", in->path);
        FUZZ_REQUIRE (stat (file, &st) == 0, "no secret.key in %s", in->path);
    }
}

static void
s_remove_backups (void)
{
    for (unsigned n = 0; n < s_n_backups; n++) {
        char path[PATH_MAX + 64];
        snprintf (path, sizeof path, "%s/b%u/data.mdb", s_backups, n);
        unlink (path);
        snprintf (path, sizeof path, "%s/b%u/secret.key", s_backups, n);
        unlink (path);
        snprintf (path, sizeof path, "%s/b%u", s_backups, n);
        rmdir (path);
    }
    rmdir (s_backups);
}
