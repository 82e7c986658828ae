/*  test_disk_full.c - a full disk refuses writes cleanly and loses nothing.
 *
 *  secpold runs with its data dir on a small tmpfs the test mounts (so it
 *  needs root: run as anyone else it says so and exits 77, which ctest
 *  reports as skipped). The test stores links, fills the filesystem to the
 *  last byte with a file of its own, and then:
 *
 *    - writes answer RESOURCE_EXHAUSTED with a message that says the disk
 *      is full, and change nothing (a consume that failed leaves its link);
 *    - reads are served: every acknowledged link verifies, policies read;
 *    - secpold neither dies (a store written through a shared mapping can
 *      take SIGBUS on a full tmpfs) nor logs more than once that it is full;
 *    - once the file is removed, writes work again, and after a SIGKILL and
 *      a restart every acknowledged write is there.
 *
 *  While the disk is full the test holds a read transaction on the store
 *  (s_pin): LMDB reuses no page freed after a reader's snapshot, so every
 *  commit then takes pages the store had free before it or new ones from
 *  the disk, and the writes come to a refusal in a few bursts. Without
 *  it, a burst of consumes and a burst of new links could take turns in
 *  the pages each other freed for ever (under make test-sanitize: 37,000
 *  links issued and consumed in two minutes, and no refusal).
 */
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <lmdb.h>
#include <cmocka.h>

#define S_ISSUE     "/secpol.v1.TokenService/IssueToken"
#define S_VERIFY    "/secpol.v1.TokenService/VerifyToken"
#define S_CONSUME   "/secpol.v1.TokenService/ConsumeToken"
#define S_KIND      SECPOL__V1__TOKEN_KIND__TOKEN_KIND_EMAIL_CLAIM
#define S_TMPFS     "size=4m,mode=0700"
#define S_MAX_LINKS 200000       /* writes tried before the disk must be full */
#define S_BURST     64           /* writes in flight at once: group commits of many pages */
#define S_LEFT      (256 * 1024) /* bytes left free after the fill */
#define S_ROUNDS    64           /* consume bursts before one must be refused */

typedef struct {
    char dir[256];       /* the test's own temp dir */
    char mount[300];     /* <dir>/fs: the tmpfs */
    char data_dir[320];  /* <mount>/data: secpold's store */
    char filler[320];    /* <mount>/filler: the file that fills it */
    const char *args[3]; /* --data-dir <data_dir> */
    bool mounted;        /* the tmpfs is mounted */
    secpol_test_daemon_t daemon;
    char (*links)[48]; /* acknowledged links */
    bool *consumed;    /* links[i] was consumed (acknowledged) */
    size_t n_links;
    MDB_env *pin_env; /* the store, opened read-only by the test (s_pin) */
    MDB_txn *pin_txn; /* the read transaction that holds its snapshot */
} fixture_t;

static int s_teardown (void **state);

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    if (!fx || secpol_test_dir_make (fx->dir, sizeof fx->dir, "diskfull") != 0) {
        free (fx);
        return -1;
    }
    *state = fx;
    snprintf (fx->mount, sizeof fx->mount, "%s/fs", fx->dir);
    snprintf (fx->data_dir, sizeof fx->data_dir, "%s/data", fx->mount);
    snprintf (fx->filler, sizeof fx->filler, "%s/filler", fx->mount);
    if (mkdir (fx->mount, 0700) != 0 || mount ("tmpfs", fx->mount, "tmpfs", 0, S_TMPFS) != 0) {
        fprintf (stderr, "cannot mount a tmpfs on %s: %s\n", fx->mount, strerror (errno));
        goto fail;
    }
    fx->mounted = true;
    fx->args[0] = "--data-dir";
    fx->args[1] = fx->data_dir;
    fx->links = calloc (S_MAX_LINKS, sizeof *fx->links);
    fx->consumed = calloc (S_MAX_LINKS, sizeof *fx->consumed);
    if (!fx->links || !fx->consumed || secpol_test_daemon_start (&fx->daemon, fx->args) != 0)
        goto fail;
    return 0;

fail:
    s_teardown (state); /* cmocka runs no teardown after a failed setup */
    return -1;
}

/*  Holds a read transaction on secpold's store from this process: LMDB
 *  reuses no page freed after its snapshot while it lasts. */
static void
s_pin (fixture_t *fx)
{
    assert_int_equal (mdb_env_create (&fx->pin_env), 0);
    assert_int_equal (mdb_env_set_maxdbs (fx->pin_env, 64), 0);
    assert_int_equal (mdb_env_open (fx->pin_env, fx->data_dir, MDB_RDONLY | MDB_NOTLS, 0600), 0);
    assert_int_equal (mdb_txn_begin (fx->pin_env, NULL, MDB_RDONLY, &fx->pin_txn), 0);
}

/*  Ends the read transaction of s_pin and closes the store. Safe to call
 *  twice. */
static void
s_unpin (fixture_t *fx)
{
    if (fx->pin_txn)
        mdb_txn_abort (fx->pin_txn);
    fx->pin_txn = NULL;
    if (fx->pin_env)
        mdb_env_close (fx->pin_env);
    fx->pin_env = NULL;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    if (!fx)
        return 0;
    s_unpin (fx);
    secpol_test_daemon_stop (&fx->daemon); /* aborts the run unless it exits 0 */
    if (fx->mounted && umount2 (fx->mount, MNT_DETACH) != 0)
        fprintf (stderr, "cannot unmount %s: %s\n", fx->mount, strerror (errno));
    secpol_test_dir_remove (fx->dir);
    free (fx->links);
    free (fx->consumed);
    free (fx);
    *state = NULL;
    return 0;
}

/*  Fills the filesystem under path with file until a write fails ENOSPC.
 *  Returns the bytes written. */
static size_t
s_fill (const char *path)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true (fd >= 0);
    static char block[65536];
    size_t written = 0;
    for (size_t chunk = sizeof block; chunk > 0; chunk /= 2)
        for (;;) {
            ssize_t n = write (fd, block, chunk);
            if (n <= 0) {
                assert_int_equal (errno, ENOSPC);
                break;
            }
            written += (size_t)n;
        }
    assert_int_equal (close (fd), 0);
    struct statvfs fs;
    assert_int_equal (statvfs (path, &fs), 0);
    assert_int_equal (fs.f_bfree, 0);
    return written;
}

/*  Issues S_BURST links at once and books the acknowledged ones. Returns
 *  how many answered RESOURCE_EXHAUSTED; any other failure fails the test.
 *  *message_p gets the message of the last refusal (static). */
static size_t
s_issue_burst (fixture_t *fx, secpol_client_t *client, const char **message_p)
{
    static char message[512];
    static unsigned long long subject_counter;
    uint64_t ids[S_BURST];
    for (size_t i = 0; i < S_BURST; i++) {
        char subject[64];
        snprintf (subject, sizeof subject, "member-%llu", ++subject_counter);
        Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
        request.workspace_id = "w-full";
        request.kind = S_KIND;
        request.subject_id = subject;
        request.bound_to = "someone@example.com, who wants a long enough record to fill pages";
        assert_int_equal (secpol_client_send (client, S_ISSUE, &request.base, &ids[i]), SECPOL_OK);
    }
    size_t refused = 0;
    for (size_t i = 0; i < S_BURST; i++) {
        uint64_t call_id = 0;
        ProtobufCMessage *response = NULL;
        int code = secpol_client_recv (client, 30000, &call_id, &response);
        assert_true (call_id != 0);
        if (code == SECPOL_OK) {
            assert_true (fx->n_links < S_MAX_LINKS);
            snprintf (fx->links[fx->n_links++], sizeof fx->links[0], "%s",
                      ((Secpol__V1__IssueTokenResponse *)response)->token);
            protobuf_c_message_free_unpacked (response, NULL);
        } else if (code == SECPOL_RESOURCE_EXHAUSTED) {
            refused++;
            snprintf (message, sizeof message, "%s", secpol_client_status (client)->message);
        } else
            fail_msg ("IssueToken on a full disk answered %s: %s", secpol_status_name (code),
                      secpol_client_status (client)->message);
    }
    *message_p = message;
    return refused;
}

/*  Sends call for links[start..end) (consume or verify), S_WINDOW at a
 *  time, and returns each answer's code in codes[i - start], matched by
 *  call id (READ workers answer in any order). */
static void
s_links_call (fixture_t *fx, secpol_client_t *client, const char *method, size_t start, size_t end,
              int *codes)
{
    uint64_t *ids = calloc (end - start, sizeof *ids);
    assert_non_null (ids);
    for (size_t i = start; i < end; i++) {
        /* VerifyTokenRequest and ConsumeTokenRequest share their first fields */
        Secpol__V1__ConsumeTokenRequest consume = SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
        Secpol__V1__VerifyTokenRequest verify = SECPOL__V1__VERIFY_TOKEN_REQUEST__INIT;
        consume.token = verify.token = fx->links[i];
        consume.kind = verify.kind = S_KIND;
        const ProtobufCMessage *request =
            strcmp (method, S_CONSUME) == 0 ? &consume.base : &verify.base;
        assert_int_equal (secpol_client_send (client, method, request, &ids[i - start]), SECPOL_OK);
    }
    for (size_t n = start; n < end; n++) {
        uint64_t call_id = 0;
        int code = secpol_client_recv (client, 30000, &call_id, NULL);
        size_t at = 0;
        while (at < end - start && ids[at] != call_id)
            at++;
        if (at == end - start)
            fail_msg ("no answer: %s", secpol_client_status (client)->message);
        codes[at] = code;
        if (code == SECPOL_RESOURCE_EXHAUSTED)
            assert_non_null (strstr (secpol_client_status (client)->message, "out of disk space"));
    }
    free (ids);
}

/*  Every acknowledged link verifies, but those consumed, which do not;
 *  returns how many were checked. */
static size_t
s_verify_all (fixture_t *fx, secpol_client_t *client)
{
    int codes[512];
    for (size_t start = 0; start < fx->n_links; start += 512) {
        size_t end = start + 512 < fx->n_links ? start + 512 : fx->n_links;
        s_links_call (fx, client, S_VERIFY, start, end, codes);
        for (size_t i = start; i < end; i++) {
            int want = fx->consumed[i] ? SECPOL_NOT_FOUND : SECPOL_OK;
            if (codes[i - start] != want)
                fail_msg ("acknowledged link %zu: VerifyToken answered %s, expected %s", i,
                          secpol_status_name (codes[i - start]), secpol_status_name (want));
        }
    }
    return fx->n_links;
}

static int
s_consume (secpol_client_t *client, const char *token)
{
    Secpol__V1__ConsumeTokenRequest request = SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
    request.token = (char *)token;
    request.kind = S_KIND;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_CONSUME, &request.base, &response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

/*  Counts the lines of secpold's log that contain text. */
static int
s_log_lines (const fixture_t *fx, const char *text)
{
    FILE *log = fopen (fx->daemon.log_path, "r");
    assert_non_null (log);
    char line[4096];
    int n = 0;
    while (fgets (line, sizeof line, log))
        n += strstr (line, text) != NULL;
    fclose (log);
    return n;
}

static void
test_a_full_disk_refuses_writes_serves_reads_and_loses_nothing (void **state)
{
    fixture_t *fx = *state;
    secpol_client_t *client = secpol_test_client (&fx->daemon);
    secpol_client_set_timeout (client, 30000);
    const char *message = NULL;
    assert_int_equal (s_issue_burst (fx, client, &message), 0);
    size_t before_full = fx->n_links;
    s_pin (fx); /* from here on, freed pages stay taken */

    /* full to the last block, then 256 KiB given back: the store grows
     * into them (writes cut short by the end of the disk come back from
     * LMDB as EIO, whole ones as ENOSPC: both must read as a full disk) */
    size_t filled = s_fill (fx->filler);
    assert_int_equal (truncate (fx->filler, (off_t)(filled - S_LEFT)), 0);
    /* LMDB may also find room in free pages of its file: write until the
     * disk says no, and then some, to see that refusals are stable */
    size_t refused = 0, bursts_after = 0;
    while (refused == 0 || bursts_after < 3) {
        assert_true (fx->n_links + S_BURST < S_MAX_LINKS);
        refused += s_issue_burst (fx, client, &message);
        if (refused)
            bursts_after++;
    }
    printf ("disk full: %zu bytes of filler; %zu links stored before it was full, %zu after; "
            "%zu writes refused: \"%s\"\n",
            filled, before_full, fx->n_links - before_full, refused, message);
    size_t issued_when_full = fx->n_links;
    assert_non_null (strstr (message, "out of disk space"));
    assert_non_null (strstr (message, "not made"));

    /* a refused consume spends nothing. A consume touches fewer pages
     * than a burst of new links, so it may still fit in pages the store
     * had free before the pin: consumes go in bursts (one group commit
     * touching many pages) until one is refused; those acknowledged are
     * booked. Each burst that fits (and the burst of new links after it,
     * which takes up what is left and gives the next consumes links to
     * spend) uses up pages for good, so a refusal comes within a few */
    size_t refused_link = SIZE_MAX;
    for (size_t start = 0, round = 0; refused_link == SIZE_MAX; start += S_BURST, round++) {
        if (round == S_ROUNDS)
            fail_msg ("no consume refused in %d bursts on a full disk", S_ROUNDS);
        for (int tries = 0; start + S_BURST > fx->n_links; tries++) {
            assert_true (tries < S_ROUNDS && fx->n_links + S_BURST < S_MAX_LINKS);
            s_issue_burst (fx, client, &message);
        }
        if (start > 0)
            s_issue_burst (fx, client, &message);
        int codes[S_BURST];
        s_links_call (fx, client, S_CONSUME, start, start + S_BURST, codes);
        for (size_t i = start; i < start + S_BURST; i++)
            if (codes[i - start] == SECPOL_OK)
                fx->consumed[i] = true;
            else if (codes[i - start] == SECPOL_RESOURCE_EXHAUSTED)
                refused_link = i;
            else
                fail_msg ("ConsumeToken on a full disk answered %s",
                          secpol_status_name (codes[i - start]));
    }
    assert_true (refused_link < fx->n_links && !fx->consumed[refused_link]);
    printf ("disk full: a consume refused after %zu more links\n", fx->n_links - issued_when_full);

    /* reads go on: every acknowledged link, a policy, health */
    size_t verified = s_verify_all (fx, client);
    Secpol__V1__GetPolicyRequest get = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    get.workspace_id = "w-full";
    ProtobufCMessage *policy = NULL;
    assert_int_equal (
        secpol_client_call (client, "/secpol.v1.PolicyService/GetPolicy", &get.base, &policy),
        SECPOL_OK);
    protobuf_c_message_free_unpacked (policy, NULL);
    assert_int_equal (kill (fx->daemon.pid, 0), 0); /* alive: no SIGBUS */
    assert_int_equal (s_log_lines (fx, "msg=\"store out of disk space\""), 1);

    /* space comes back: writes work again */
    s_unpin (fx);
    assert_int_equal (unlink (fx->filler), 0);
    assert_int_equal (s_consume (client, fx->links[refused_link]), SECPOL_OK);
    fx->consumed[refused_link] = true;
    assert_int_equal (s_issue_burst (fx, client, &message), 0);
    assert_int_equal (s_log_lines (fx, "msg=\"store writes again\""), 1);
    secpol_client_destroy (&client);

    /* and nothing acknowledged is lost, even without a clean stop */
    int status = secpol_test_daemon_kill (&fx->daemon, SIGKILL);
    assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    assert_int_equal (secpol_test_daemon_restart (&fx->daemon, fx->args), 0);
    client = secpol_test_client (&fx->daemon);
    secpol_client_set_timeout (client, 30000);
    assert_int_equal (s_consume (client, fx->links[refused_link]), SECPOL_NOT_FOUND); /* once */
    size_t after_restart = s_verify_all (fx, client);
    printf ("disk full: %zu links verified while full, %zu after the restart\n", verified,
            after_restart);
    secpol_client_destroy (&client);
}

int
main (void)
{
    if (geteuid () != 0) {
        printf ("SKIP: test_disk_full mounts a tmpfs and needs root (CI runs as root)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_a_full_disk_refuses_writes_serves_reads_and_loses_nothing, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
