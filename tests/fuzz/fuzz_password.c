/*  fuzz_password.c - the password rules (password_rules.c) on arbitrary
 *  passwords and user inputs: NFKC normalisation and code-point counts
 *  (libunistring), the cracklib dictionary and repetition checks
 *  (libpwquality), the user-input word search.
 *
 *  Input: byte 0 chooses the level (bits 0-1: UNSPECIFIED, LOW, MEDIUM,
 *  HIGH; bit 2: an unknown value instead), byte 1 the number of user
 *  inputs (bits 0-1); the rest is split at NUL bytes into the password and
 *  then the user inputs (a string with a NUL never reaches the rules: the
 *  dispatcher refuses it). Invalid UTF-8 is refused by the dispatcher too:
 *  the rules must then fail (-1) rather than guess.
 *
 *  Invariants (abort when broken), for a valid UTF-8 password:
 *  - the check runs (0), with at most SECPOL_PASSWORD_VIOLATIONS_MAX
 *    violations, each with a known code (once) and a non-empty message;
 *  - TOO_LONG exactly when the password is over SECPOL_PASSWORD_MAX_BYTES
 *    bytes or over SECPOL_PASSWORD_MAX_CHARS code points after NFKC, and
 *    then it is the only violation; otherwise TOO_SHORT exactly when under
 *    the level's least length;
 *  - CONTAINS_USER_INPUT only at a level that rejects user inputs, and
 *    only with some user input;
 *  - NFKC is idempotent, and the rules give the same codes for the
 *    password and for its normal form;
 *  - the same input gives the same answer twice.
 *
 *  When bit 7 of byte 0 is set, the input drives PasswordService's
 *  handlers instead, through the real method table on a real LMDB store
 *  (one secpol_server_t per process, data in a temporary directory, an
 *  inproc endpoint nobody connects to; each input in one top-level write
 *  transaction aborted at the end). The rest is up to 16 steps `op, length,
 *  bytes`; op bits 0-1: 0 RecordActivityRequest, 1 GetAccountStatusRequest,
 *  2 RecordPasswordChangeRequest (the encoded request: skipped when the
 *  dispatcher's string check refuses it or it does not unpack), 3 the clock
 *  moves on by bytes[0] * 97 seconds; op bit 2 replaces the ids with w1/u1
 *  (bit 3: u2) so that steps meet. RecordPasswordChange runs its prepare
 *  step when the harness finds the request invalid (it must then answer
 *  INVALID_ARGUMENT before hashing anything); a valid one gets a fixed
 *  argon2id string as prepare's result instead of 19 MiB of hashing, and
 *  its write part runs.
 *
 *  Invariants of the handlers (abort when broken):
 *  - OK or INVALID_ARGUMENT with named violations; never INTERNAL;
 *    SECPOL_NEEDS_WRITE only from RecordActivity's READ run;
 *  - RecordActivity OK: last_active_at within the hour before now;
 *  - GetAccountStatus OK: times never in the future; a subject never
 *    written answers all zero; after a RecordPasswordChange of the subject,
 *    password_changed_at is that change's time and no reset is due.
 */
#include "fuzz_support.h"
#include "service_harness.h"

#include "arena.h"
#include "call.h"
#include "method_table.h"
#include "password_rules.h"
#include "policy.h"
#include "server.h"
#include "store.h"
#include "wire.h"

#include "secpol/v1/password.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <unistr.h>

#define NOW       INT64_C (1800000000)
#define MAX_STEPS 16
#define FAKE_HASH                                                                                  \
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"                                       \
    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"

#define MAX_INPUTS 3

static const char *const s_codes[] = {"TOO_SHORT", "TOO_LONG", "COMMON", "REPETITIVE",
                                      "CONTAINS_USER_INPUT"};

static fuzz_service_t s_service; /* server, store, method table */
static const secpol_method_t *s_activity, *s_status, *s_change;
static int64_t s_now;

static void s_handlers (const uint8_t *data, size_t size);
static int s_run (secpol_txn_t *top, secpol_arena_t *arena, const secpol_method_t *method,
                  ProtobufCMessage *request, bool write, bool prepare, ProtobufCMessage **out_p);
static void s_check (const secpol_password_violation_t *found, size_t n);
static bool s_has (const secpol_password_violation_t *found, size_t n, const char *code);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_start (&s_service, "fuzz_password");
    s_activity = fuzz_service_method (&s_service, "/secpol.v1.PasswordService/RecordActivity");
    s_status = fuzz_service_method (&s_service, "/secpol.v1.PasswordService/GetAccountStatus");
    s_change = fuzz_service_method (&s_service, "/secpol.v1.PasswordService/RecordPasswordChange");
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4 * SECPOL_PASSWORD_MAX_BYTES)
        return 0;
    if (data[0] & 0x80) {
        s_handlers (data + 1, size - 1);
        return 0;
    }
    int level_byte = data[0];
    int level = level_byte & 4 ? 77 : level_byte & 3;
    size_t want_inputs = data[1] & 3;
    /* split the rest at NULs, each piece in its own buffer for ASan */
    char *pieces[1 + MAX_INPUTS] = {0};
    size_t n_pieces = 0, at = 2;
    while (n_pieces < 1 + want_inputs) {
        const uint8_t *end = memchr (data + at, 0, size - at);
        size_t length = end ? (size_t)(end - (data + at)) : size - at;
        pieces[n_pieces] = malloc (length + 1);
        memcpy (pieces[n_pieces], data + at, length);
        pieces[n_pieces][length] = 0;
        n_pieces++;
        at += length + (end ? 1 : 0);
        if (!end)
            break;
    }
    const char *password = pieces[0];
    const char *const *inputs = (const char *const *)pieces + 1;
    size_t n_inputs = n_pieces - 1;
    const secpol_password_level_t *rules = secpol_password_level (level);
    size_t bytes = strlen (password);
    bool valid = u8_check ((const uint8_t *)password, bytes) == NULL;
    for (size_t i = 0; i < n_inputs; i++)
        valid = valid && u8_check ((const uint8_t *)inputs[i], strlen (inputs[i])) == NULL;

    secpol_password_violation_t found[SECPOL_PASSWORD_VIOLATIONS_MAX];
    size_t n = 0;
    int rc = secpol_password_rules_check (found, &n, rules, password, inputs, n_inputs);
    if (!valid) {
        FUZZ_REQUIRE (bytes > SECPOL_PASSWORD_MAX_BYTES || rc == -1 || n_inputs,
                      "invalid UTF-8 judged: rc %d", rc);
        goto done;
    }
    FUZZ_REQUIRE (rc == 0, "the check did not run (is cracklib-runtime installed?)");
    s_check (found, n);

    size_t normal_bytes = 0, chars = 0;
    uint8_t *normal = NULL;
    bool too_long = bytes > SECPOL_PASSWORD_MAX_BYTES;
    if (!too_long) {
        normal = secpol_password_normalize (password, bytes, &normal_bytes, &chars);
        FUZZ_REQUIRE (normal, "valid UTF-8 does not normalise");
        too_long = chars > SECPOL_PASSWORD_MAX_CHARS;
    }
    FUZZ_REQUIRE (s_has (found, n, "TOO_LONG") == too_long,
                  "TOO_LONG is %d for %zu bytes, %zu chars", s_has (found, n, "TOO_LONG"), bytes,
                  chars);
    if (too_long)
        FUZZ_REQUIRE (n == 1, "TOO_LONG with %zu violations", n);
    else
        FUZZ_REQUIRE (s_has (found, n, "TOO_SHORT") == (chars < rules->min_chars),
                      "TOO_SHORT is %d for %zu chars at %s", s_has (found, n, "TOO_SHORT"), chars,
                      rules->name);
    if (s_has (found, n, "CONTAINS_USER_INPUT"))
        FUZZ_REQUIRE (rules->reject_user_inputs && n_inputs, "user inputs checked at %s",
                      rules->name);

    /* the same answer twice */
    secpol_password_violation_t again[SECPOL_PASSWORD_VIOLATIONS_MAX];
    size_t n_again = 0;
    FUZZ_REQUIRE (
        secpol_password_rules_check (again, &n_again, rules, password, inputs, n_inputs) == 0,
        "second check failed");
    FUZZ_REQUIRE (n_again == n, "%zu then %zu violations", n, n_again);
    for (size_t i = 0; i < n; i++)
        FUZZ_REQUIRE (strcmp (found[i].code, again[i].code) == 0 &&
                          strcmp (found[i].message, again[i].message) == 0,
                      "answer %zu changed", i);

    /* NFKC is idempotent, and the normal form gets the same codes */
    if (normal) {
        size_t twice_bytes, twice_chars;
        uint8_t *twice = secpol_password_normalize ((const char *)normal, normal_bytes,
                                                    &twice_bytes, &twice_chars);
        FUZZ_REQUIRE (twice && twice_bytes == normal_bytes && twice_chars == chars &&
                          memcmp (twice, normal, normal_bytes) == 0,
                      "NFKC is not idempotent");
        secpol_password_free (twice, twice_bytes);
        if (normal_bytes <= SECPOL_PASSWORD_MAX_BYTES) {
            FUZZ_REQUIRE (secpol_password_rules_check (again, &n_again, rules, (const char *)normal,
                                                       inputs, n_inputs) == 0,
                          "check of the normal form failed");
            FUZZ_REQUIRE (n_again == n, "normal form: %zu violations, not %zu", n_again, n);
            for (size_t i = 0; i < n; i++)
                FUZZ_REQUIRE (strcmp (found[i].code, again[i].code) == 0, "normal form: %s, not %s",
                              again[i].code, found[i].code);
        }
        secpol_password_free (normal, normal_bytes);
    }
done:
    for (size_t i = 0; i < n_pieces; i++)
        free (pieces[i]);
    return 0;
}

static void
s_check (const secpol_password_violation_t *found, size_t n)
{
    FUZZ_REQUIRE (n <= SECPOL_PASSWORD_VIOLATIONS_MAX, "%zu violations", n);
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (size_t k = 0; k < sizeof s_codes / sizeof s_codes[0]; k++)
            known |= strcmp (found[i].code, s_codes[k]) == 0;
        FUZZ_REQUIRE (known, "unknown code %s", found[i].code);
        FUZZ_REQUIRE (found[i].message[0], "%s without a message", found[i].code);
        for (size_t j = 0; j < i; j++)
            FUZZ_REQUIRE (strcmp (found[i].code, found[j].code) != 0, "%s twice", found[i].code);
    }
}

static bool
s_has (const secpol_password_violation_t *found, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (found[i].code, code) == 0)
            return true;
    return false;
}

/*  The handler mode: see the top of the file. */
static void
s_handlers (const uint8_t *data, size_t size)
{
    secpol_arena_t *arena = secpol_arena_new ();
    secpol_txn_t *top = NULL;
    int rc = secpol_txn_begin (s_service.store, NULL, true, &top);
    FUZZ_REQUIRE (rc == 0, "transaction: %s", secpol_strerror (rc));
    s_now = NOW;
    int64_t changed[2] = {0, 0}; /* last RecordPasswordChange of w1/u1, w1/u2 */
    bool written[2] = {false, false};
    for (int steps = 0; size >= 2 && steps < MAX_STEPS; steps++) {
        uint8_t op = data[0];
        size_t length = data[1];
        data += 2;
        size -= 2;
        if (length > size)
            length = size;
        uint8_t *bytes = malloc (length + 1); /* its own buffer, for ASan */
        memcpy (bytes, data, length);
        data += length;
        size -= length;
        unsigned action = op & 3;
        if (action == 3) {
            s_now += (length ? bytes[0] : 0) * 97;
            free (bytes);
            continue;
        }
        const secpol_method_t *methods[] = {s_activity, s_status, s_change};
        const secpol_method_t *method = methods[action];
        const ProtobufCMessageDescriptor *descriptor = method->descriptor->input;
        char field[256];
        const char *problem;
        ProtobufCMessage *request = NULL;
        if (secpol_wire_check_strings (descriptor, bytes, length, field, sizeof field, &problem))
            request = protobuf_c_message_unpack (descriptor, secpol_arena_allocator (arena), length,
                                                 bytes);
        free (bytes);
        if (!request)
            continue;
        /* every request type has workspace_id and subject_id as fields 1 and 2 */
        char **workspace_id = (char **)((char *)request + descriptor->fields[0].offset);
        char **subject_id = (char **)((char *)request + descriptor->fields[1].offset);
        if (op & 4) {
            *workspace_id = "w1";
            *subject_id = op & 8 ? "u2" : "u1";
        }
        int who = strcmp (*workspace_id, "w1") != 0 ? -1
                  : strcmp (*subject_id, "u1") == 0 ? 0
                  : strcmp (*subject_id, "u2") == 0 ? 1
                                                    : -1;
        ProtobufCMessage *out = NULL;
        if (action == 0) {
            int code = s_run (top, arena, method, request, false, false, &out);
            if (code == SECPOL_NEEDS_WRITE)
                code = s_run (top, arena, method, request, true, false, &out);
            FUZZ_REQUIRE (code != SECPOL_NEEDS_WRITE, "NEEDS_WRITE from a write run");
            if (code == SECPOL_OK) {
                int64_t at = ((Secpol__V1__RecordActivityResponse *)out)->last_active_at;
                FUZZ_REQUIRE (at <= s_now && at > s_now - 3600, "activity at %lld, now %lld",
                              (long long)at, (long long)s_now);
                if (who >= 0)
                    written[who] = true;
            }
        } else if (action == 1) {
            int code = s_run (top, arena, method, request, false, false, &out);
            FUZZ_REQUIRE (code != SECPOL_NEEDS_WRITE, "GetAccountStatus asked to write");
            if (code == SECPOL_OK) {
                const Secpol__V1__AccountStatus *status = (const Secpol__V1__AccountStatus *)out;
                FUZZ_REQUIRE (status->last_active_at <= s_now &&
                                  status->password_changed_at <= s_now,
                              "a time in the future");
                Secpol__V1__GetAccountStatusRequest *in =
                    (Secpol__V1__GetAccountStatusRequest *)request;
                if (who >= 0 && !*in->community_id) {
                    if (!written[who])
                        FUZZ_REQUIRE (!status->must_reset_password && !status->inactive &&
                                          !status->last_active_at && !status->password_changed_at &&
                                          !status->next_change_allowed_at,
                                      "a subject never written answered something");
                    if (changed[who])
                        FUZZ_REQUIRE (status->password_changed_at == changed[who] &&
                                          !status->must_reset_password,
                                      "changed at %lld, status says %lld", (long long)changed[who],
                                      (long long)status->password_changed_at);
                }
            }
        } else {
            Secpol__V1__RecordPasswordChangeRequest *in =
                (Secpol__V1__RecordPasswordChangeRequest *)request;
            size_t bytes_n = strlen (in->password), nb = 0, chars = 0;
            bool valid = !secpol_policy_id_problem (in->workspace_id, true) &&
                         !secpol_policy_id_problem (in->subject_id, true) &&
                         !secpol_policy_id_problem (in->community_id, false) && bytes_n > 0 &&
                         bytes_n <= SECPOL_PASSWORD_MAX_BYTES;
            if (valid) {
                uint8_t *normal = secpol_password_normalize (in->password, bytes_n, &nb, &chars);
                valid = normal && chars <= SECPOL_PASSWORD_MAX_CHARS;
                secpol_password_free (normal, nb);
            }
            int code = s_run (top, arena, method, request, !valid ? false : true, !valid, &out);
            if (!valid)
                FUZZ_REQUIRE (code == SECPOL_INVALID_ARGUMENT, "an invalid change answered %d",
                              code);
            else {
                FUZZ_REQUIRE (code == SECPOL_OK, "a valid change answered %d", code);
                const Secpol__V1__RecordPasswordChangeResponse *done =
                    (const Secpol__V1__RecordPasswordChangeResponse *)out;
                FUZZ_REQUIRE (done->password_changed_at == s_now && done->history_size <= 24,
                              "changed at %lld, history %u", (long long)done->password_changed_at,
                              done->history_size);
                if (who >= 0) {
                    changed[who] = s_now;
                    written[who] = true;
                }
            }
        }
    }
    secpol_txn_abort (&top);
    secpol_arena_destroy (&arena);
}

/*  Runs one handler as the dispatcher would: prepare (SLOW, no txn), or a
 *  READ run (the top txn, not writable), or a write run in a nested txn. */
static int
s_run (secpol_txn_t *top, secpol_arena_t *arena, const secpol_method_t *method,
       ProtobufCMessage *request, bool write, bool prepare, ProtobufCMessage **out_p)
{
    secpol_call_t call;
    const secpol_handler_t *handler = prepare ? method->spec->prepare : method->spec->handler;
    int code = fuzz_service_call (&s_service, top, arena, method, handler, write, prepare, s_now,
                                  secpol_arena_strdup (arena, FAKE_HASH), request, out_p, &call);
    FUZZ_REQUIRE (code == SECPOL_OK || code == SECPOL_INVALID_ARGUMENT ||
                      (code == SECPOL_NEEDS_WRITE && !write),
                  "%s answered %d: %s", method->path, code, call.message ? call.message : "");
    if (code == SECPOL_INVALID_ARGUMENT)
        fuzz_require_violations (&call, method->path);
    return code;
}
