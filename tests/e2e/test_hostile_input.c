/*  test_hostile_input.c - bodies built to make secpold work hard, against a
 *  real secpold (issue 6 §3): each is refused with INVALID_ARGUMENT naming
 *  the field, the reply stays small, the daemon's memory stays put, and a
 *  legitimate write sent meanwhile from another client succeeds.
 *
 *  - the mask bomb: an UpdatePolicy whose update_mask holds 21,000 unknown
 *    paths (63 KB, under the 64 KiB body limit); it used to take 8 s and
 *    1 GB building the list of unknown paths, and four at once 3 GB;
 *  - the merge bomb: the policy field sent 10,000 times with one extension
 *    each, which protobuf-c merges by copying the list again per copy;
 *  - a repeated field over SECPOL_MAX_REPEATED entries, top level or nested;
 *  - an update_mask over UpdatePolicy's own cap, and one within it whose
 *    unknown paths are long: named a few at a time, the rest counted.
 *
 *  Bounds are counts and generous sizes, never timings.
 */
#include "daemon.h"

#include "call.h"
#include "service.h"
#include "wire.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define S_UPDATE "/secpol.v1.PolicyService/UpdatePolicy"

#define BOMB_PATHS        21000
#define BOMBERS           4
#define BOMBS_EACH        3
#define REPLY_HEADER_MAX  8192         /* bytes: a refusal is a few hundred */
#define RSS_GROWTH_MAX_KB (200 * 1024) /* the bombs used to cost 1 GB each */

/*  A field of /proc/<daemon>/status in kB ("VmHWM", "VmRSS"). */
static long
s_daemon_kb (const secpol_test_daemon_t *daemon, const char *name)
{
    long kb = secpol_test_proc_status_kb (daemon->pid, name);
    assert_true (kb > 0);
    return kb;
}

/*  A packed UpdatePolicyRequest (malloc'd; caller frees). */
static uint8_t *
s_pack_update (const Secpol__V1__UpdatePolicyRequest *request, size_t *size_p)
{
    *size_p = secpol__v1__update_policy_request__get_packed_size (request);
    uint8_t *body = malloc (*size_p + 1);
    assert_non_null (body);
    secpol__v1__update_policy_request__pack (request, body);
    return body;
}

/*  An UpdatePolicyRequest of workspace_id with policy and n_paths paths. */
static Secpol__V1__UpdatePolicyRequest
s_request (const char *workspace_id, Secpol__V1__Policy *policy, char **paths, size_t n_paths)
{
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = (char *)workspace_id;
    request.policy = policy;
    request.n_update_mask = n_paths;
    request.update_mask = paths;
    request.actor = "admin@example.com";
    return request;
}

/*  count copies of text, in a malloc'd array (caller frees). */
static char **
s_copies (char *text, size_t count)
{
    char **list = malloc (count * sizeof *list);
    assert_non_null (list);
    for (size_t k = 0; k < count; k++)
        list[k] = text;
    return list;
}

/*  The mask bomb: update_mask holds BOMB_PATHS copies of "x". */
static uint8_t *
s_mask_bomb (size_t *size_p)
{
    char **paths = s_copies ("x", BOMB_PATHS);
    Secpol__V1__UpdatePolicyRequest request = s_request ("w1", NULL, paths, BOMB_PATHS);
    uint8_t *body = s_pack_update (&request, size_p);
    free (paths);
    assert_true (*size_p > 60000 && *size_p <= SECPOL_DEFAULT_MAX_REQUEST);
    return body;
}

/*  The merge bomb: policy { allowed_file_extensions: "a" } as many times as
 *  fit in the body limit, with a mask that names the list. */
static uint8_t *
s_merge_bomb (size_t *size_p)
{
    static const uint8_t head[] = {0x0a, 0x02, 'w', '1', 0x22, 0x17, 'a', 'l', 'l', 'o',
                                   'w',  'e',  'd', '_', 'f',  'i',  'l', 'e', '_', 'e',
                                   'x',  't',  'e', 'n', 's',  'i',  'o', 'n', 's'};
    static const uint8_t copy[] = {0x1a, 0x04, 0xb2, 0x03, 0x01, 'a'}; /* policy {54: "a"} */
    size_t copies = (SECPOL_DEFAULT_MAX_REQUEST - sizeof head) / sizeof copy;
    *size_p = sizeof head + copies * sizeof copy;
    uint8_t *body = malloc (*size_p);
    assert_non_null (body);
    memcpy (body, head, sizeof head);
    for (size_t k = 0; k < copies; k++)
        memcpy (body + sizeof head + k * sizeof copy, copy, sizeof copy);
    return body;
}

/*  What came back for one raw request. */
typedef struct {
    int code;              /* status; -1 when no reply came */
    size_t header_size;    /* bytes of the ResponseHeader */
    size_t n_violations;   /* FieldViolation entries */
    char message[256];     /* start of the message */
    char first_field[128]; /* the first violation's field */
    char first_text[512];  /* the first violation's description */
    size_t message_length; /* all of it */
} raw_reply_t;

/*  Sends body to method over a fresh DEALER and reads the reply (any
 *  thread: it asserts nothing). */
static raw_reply_t
s_raw_call (const secpol_test_daemon_t *daemon, const char *method, const uint8_t *body,
            size_t body_size)
{
    raw_reply_t result = {.code = -1};
    uint8_t header[256];
    size_t header_size = secpol_test_pack_header (header, sizeof header, method, 7, NULL);
    const void *frames[] = {header, body};
    size_t sizes[] = {header_size, body_size};
    void *reply[4] = {0};
    size_t reply_sizes[4] = {0};
    int n = secpol_test_raw (daemon, 2, frames, sizes, SECPOL_TEST_DEADLINE_MS, reply, reply_sizes);
    if (n >= 1) {
        Secpol__V1__ResponseHeader *answer =
            secpol__v1__response_header__unpack (NULL, reply_sizes[0], reply[0]);
        if (answer) {
            result.code = answer->code;
            result.header_size = reply_sizes[0];
            result.n_violations = answer->n_violations;
            result.message_length = strlen (answer->message);
            snprintf (result.message, sizeof result.message, "%s", answer->message);
            if (answer->n_violations) {
                snprintf (result.first_field, sizeof result.first_field, "%s",
                          answer->violations[0]->field);
                snprintf (result.first_text, sizeof result.first_text, "%s",
                          answer->violations[0]->description);
            }
            secpol__v1__response_header__free_unpacked (answer, NULL);
        }
    }
    for (int k = 0; k < n && k < 4; k++)
        free (reply[k]);
    return result;
}

/*  Makes a bomb, sends it to UpdatePolicy and returns the reply. */
static raw_reply_t
s_send_bomb (const secpol_test_daemon_t *daemon, uint8_t *(*make) (size_t *size_p))
{
    size_t size;
    uint8_t *bomb = make (&size);
    raw_reply_t reply = s_raw_call (daemon, S_UPDATE, bomb, size);
    free (bomb);
    return reply;
}

/*  A refusal naming field (first, with description), small and with a
 *  bounded violation list. */
static void
s_assert_refused (const raw_reply_t *reply, const char *field, const char *description)
{
    if (reply->code != SECPOL_INVALID_ARGUMENT)
        fail_msg ("expected INVALID_ARGUMENT naming %s, got %d: %s", field, reply->code,
                  reply->message);
    assert_non_null (strstr (reply->message, field));
    assert_true (reply->n_violations >= 1 && reply->n_violations <= SECPOL_MAX_VIOLATIONS);
    assert_string_equal (reply->first_field, field);
    assert_string_equal (reply->first_text, description);
    assert_true (reply->header_size < REPLY_HEADER_MAX);
    assert_true (reply->message_length < 1024);
}

/*  A legitimate UpdatePolicy of login_lockout.max_failures to value. */
static void
s_legit_update (secpol_client_t *client, uint32_t value)
{
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    lockout.max_failures = value;
    lockout.window_minutes = 15;
    lockout.lock_minutes = 15;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.login_lockout = &lockout;
    char *paths[] = {"login_lockout.max_failures"};
    Secpol__V1__UpdatePolicyRequest request = s_request ("w-legit", &policy, paths, 1);
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_UPDATE, &request.base, &response);
    if (code != SECPOL_OK)
        fail_msg ("legitimate UpdatePolicy: %s %s", secpol_status_name (code),
                  secpol_client_status (client)->message);
    assert_int_equal (((Secpol__V1__Policy *)response)->login_lockout->max_failures, value);
    protobuf_c_message_free_unpacked (response, NULL);
}

/*  Sends request through client and asserts the answer: INVALID_ARGUMENT
 *  with exactly one violation, on field; returns its description. */
static const char *
s_refused_with (secpol_client_t *client, const Secpol__V1__UpdatePolicyRequest *request,
                const char *field)
{
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_UPDATE, &request->base, &response),
                      SECPOL_INVALID_ARGUMENT);
    const secpol_client_status_t *status = secpol_client_status (client);
    assert_int_equal (status->n_violations, 1);
    assert_string_equal (status->violation_fields[0], field);
    assert_non_null (strstr (status->message, field));
    return status->violation_descriptions[0];
}

static void
test_mask_bomb_is_refused_cheaply (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    long before_kb = s_daemon_kb (daemon, "VmHWM");
    raw_reply_t reply = s_send_bomb (daemon, s_mask_bomb);
    s_assert_refused (&reply, "update_mask", "has more than 1024 entries");
    secpol_client_t *client = secpol_test_client (daemon);
    s_legit_update (client, 7);
    secpol_client_destroy (&client);
    assert_true (s_daemon_kb (daemon, "VmHWM") - before_kb < RSS_GROWTH_MAX_KB);
}

typedef struct {
    const secpol_test_daemon_t *daemon;
    const uint8_t *body;
    size_t size;
    const char *field;     /* the field the refusal must name */
    int refused;           /* replies that were INVALID_ARGUMENT naming field */
    size_t largest_header; /* bytes */
} bomber_t;

static void *
s_bomber (void *arg)
{
    bomber_t *self = arg;
    for (int k = 0; k < BOMBS_EACH; k++) {
        raw_reply_t reply = s_raw_call (self->daemon, S_UPDATE, self->body, self->size);
        if (reply.code == SECPOL_INVALID_ARGUMENT && strcmp (reply.first_field, self->field) == 0 &&
            reply.n_violations <= SECPOL_MAX_VIOLATIONS)
            self->refused++;
        if (reply.header_size > self->largest_header)
            self->largest_header = reply.header_size;
    }
    return NULL;
}

/*  Four clients send bombs (mask and merge, in turn) while a fifth makes
 *  legitimate writes: every bomb is refused, every write succeeds, and the
 *  daemon's peak memory grows by far less than one bomb used to cost. */
static void
test_four_bombers_do_not_hold_a_legit_write (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    long before_kb = s_daemon_kb (daemon, "VmHWM");
    size_t mask_size, merge_size;
    uint8_t *mask = s_mask_bomb (&mask_size);
    uint8_t *merge = s_merge_bomb (&merge_size);
    bomber_t bombers[BOMBERS];
    pthread_t threads[BOMBERS];
    for (int k = 0; k < BOMBERS; k++) {
        bombers[k] = (bomber_t){.daemon = daemon,
                                .body = k % 2 ? merge : mask,
                                .size = k % 2 ? merge_size : mask_size,
                                .field = k % 2 ? "policy" : "update_mask"};
        assert_int_equal (pthread_create (&threads[k], NULL, s_bomber, &bombers[k]), 0);
    }
    secpol_client_t *client = secpol_test_client (daemon);
    for (uint32_t value = 1; value <= 5; value++)
        s_legit_update (client, value);
    for (int k = 0; k < BOMBERS; k++) {
        pthread_join (threads[k], NULL);
        assert_int_equal (bombers[k].refused, BOMBS_EACH);
        assert_true (bombers[k].largest_header < REPLY_HEADER_MAX);
    }
    s_legit_update (client, 9);
    secpol_client_destroy (&client);
    free (mask);
    free (merge);
    long growth_kb = s_daemon_kb (daemon, "VmHWM") - before_kb;
    if (growth_kb >= RSS_GROWTH_MAX_KB)
        fail_msg ("secpold's peak memory grew by %ld kB", growth_kb);
}

/*  More than SECPOL_MAX_REPEATED entries in any repeated field, at any
 *  depth, through the C client as any caller would send them. */
static void
test_repeated_fields_over_the_cap (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    size_t n = SECPOL_MAX_REPEATED + 1;
    char **entries = s_copies ("pdf", n);
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.n_allowed_file_extensions = n;
    policy.allowed_file_extensions = entries;
    char *mask[] = {"allowed_file_extensions"};
    Secpol__V1__UpdatePolicyRequest request = s_request ("w-lists", &policy, mask, 1);
    assert_string_equal (s_refused_with (client, &request, "policy.allowed_file_extensions"),
                         "has more than 1024 entries");

    /* the same count of update_mask paths */
    request = s_request ("w-lists", NULL, entries, n);
    assert_string_equal (s_refused_with (client, &request, "update_mask"),
                         "has more than 1024 entries");

    /* at the cap, the list is judged by the policy's own rule (200 extensions) */
    policy.n_allowed_file_extensions = SECPOL_MAX_REPEATED;
    request = s_request ("w-lists", &policy, mask, 1);
    assert_string_equal (s_refused_with (client, &request, "policy.allowed_file_extensions"),
                         "has 1024 entries; at most 200 are allowed");
    free (entries);
    secpol_client_destroy (&client);
}

/*  update_mask has its own, lower cap; within it, unknown paths are named a
 *  few at a time, quoted and cut, and the rest counted. */
static void
test_update_mask_cap_and_unknown_paths (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    char long_path[301];
    memset (long_path, 'p', 300);
    long_path[300] = 0;
    char **paths = s_copies (long_path, 129);
    Secpol__V1__UpdatePolicyRequest request = s_request ("w-mask", NULL, paths, 129);
    assert_string_equal (s_refused_with (client, &request, "update_mask"),
                         "has 129 paths; at most 128 are allowed (\"*\" names every setting)");

    /* 128 paths, two of them real: the 126 unknown ones in one bounded violation */
    paths[0] = "hsts";
    paths[77] = "login_lockout.max_failures";
    request.n_update_mask = 128;
    const char *description = s_refused_with (client, &request, "update_mask");
    assert_true (strlen (description) < 1024);
    assert_non_null (strstr (description, "names no setting: \"pppp"));
    assert_non_null (strstr (description, "\"... and 121 more"));
    assert_null (strstr (description, "hsts"));
    free (paths);
    secpol_client_destroy (&client);
}

/*  The merge bomb alone: the policy field sent twice is refused by name. */
static void
test_message_field_sent_twice (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    raw_reply_t reply = s_send_bomb (daemon, s_merge_bomb);
    s_assert_refused (&reply, "policy", "appears more than once (a message field is sent once)");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_mask_bomb_is_refused_cheaply),
        SECPOL_TEST_WITH_DAEMON (test_four_bombers_do_not_hold_a_legit_write),
        SECPOL_TEST_WITH_DAEMON (test_repeated_fields_over_the_cap),
        SECPOL_TEST_WITH_DAEMON (test_update_mask_cap_and_unknown_paths),
        SECPOL_TEST_WITH_DAEMON (test_message_field_sent_twice),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
