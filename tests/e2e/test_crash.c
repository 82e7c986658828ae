/*  test_crash.c - nothing acknowledged is lost when secpold is killed under load.
 *
 *  Client threads keep a real secpold busy with pipelined writes that an
 *  attacker would love to see lost: IssueToken (single-use password reset
 *  links), ConsumeToken of the links they were given, and RecordFailure
 *  (login lockout counters). Meanwhile the test kills secpold with SIGKILL
 *  at random moments (after a random number of acknowledged writes, so
 *  often in the middle of a group commit), at least S_ROUNDS times, and
 *  starts it again on the same store. After each restart, with the clients
 *  paused, it checks every write ever acknowledged:
 *
 *    - an issued link that was not consumed still verifies;
 *    - a link whose consume was acknowledged does not consume again (the
 *      one-use promise holds across the crash);
 *    - a lockout counter holds at least the failures acknowledged and at
 *      most those sent (a write that got no answer may or may not be in).
 *
 *  A write whose answer never came (secpold died first) is "unknown" and
 *  only bounds the counts. The store must open cleanly every time (secpold
 *  answers), and at the end LMDB itself walks every table of it. The test
 *  prints how many acknowledged writes it checked. The kill moments come
 *  from a seed it prints; SECPOL_CRASH_SEED=N repeats a run.
 */
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/lockout.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#define S_ISSUE    "/secpol.v1.TokenService/IssueToken"
#define S_VERIFY   "/secpol.v1.TokenService/VerifyToken"
#define S_CONSUME  "/secpol.v1.TokenService/ConsumeToken"
#define S_FAILURE  "/secpol.v1.LockoutService/RecordFailure"
#define S_CHECK    "/secpol.v1.LockoutService/CheckLockout"
#define S_KIND     SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET
#define S_LOGIN    SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN
#define S_WS       "crash"
#define S_THREADS  3
#define S_WINDOW   16    /* calls each client thread keeps in flight */
#define S_ROUNDS   10    /* kills at least */
#define S_BUDGET_S 60    /* seconds the run aims at; past S_ROUNDS, rounds stop at half */
#define S_TIMEOUT  1500  /* ms a client waits for an answer before calling it unknown */
#define S_MAX_TOK  40000 /* links one thread remembers */
#define S_MAX_SUBJ 20000 /* lockout subjects one thread remembers */
#define S_PER_SUBJ 3     /* failures per subject: under the default lock at 5 */
#define S_BATCH    512   /* calls the checker keeps in flight */

typedef enum { TOK_ISSUED, TOK_CONSUMING, TOK_CONSUMED, TOK_UNKNOWN } tok_state_t;

typedef struct {
    char token[48]; /* the link as issued */
    uint8_t state;  /* tok_state_t */
} tok_t;

typedef struct {
    uint16_t sent;  /* RecordFailure calls sent */
    uint16_t acked; /* ... answered OK */
} subj_t;

/*  One pending call of a client thread. */
typedef struct {
    uint64_t call_id; /* 0 = free slot */
    int op;           /* 0 issue, 1 consume, 2 failure */
    size_t index;     /* the token or subject it is about */
} pending_t;

typedef struct {
    int id;               /* thread number, part of every subject name */
    const char *endpoint; /* secpold's */
    tok_t *tokens;        /* S_MAX_TOK */
    size_t n_tokens;      /* issued and acknowledged */
    size_t next_consume;  /* first token not yet handed to a consume */
    subj_t *subjects;     /* S_MAX_SUBJ */
    size_t n_subjects;    /* subjects in use, the last one being filled */
    uint64_t issues;      /* issue calls sent, for unique subjects */
    unsigned seed;        /* rand_r state: each thread draws its own */
    char error[256];      /* first broken promise seen by this thread */
    pthread_t thread;
} client_t;

/* Shared between the main thread and the clients. */
static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_changed = PTHREAD_COND_INITIALIZER;
static bool s_pause, s_quit;           /* asked by main */
static int s_paused;                   /* clients idle with nothing in flight */
static atomic_uint_fast64_t s_acked;   /* writes acknowledged OK, all threads */
static atomic_uint_fast64_t s_unknown; /* writes whose answer never came */

static void
s_subject (char *out, size_t size, const char *what, int thread, uint64_t n)
{
    snprintf (out, size, "%s-t%d-%llu", what, thread, (unsigned long long)n);
}

static int
s_send_issue (secpol_client_t *client, client_t *self, uint64_t *call_id)
{
    char subject[64];
    s_subject (subject, sizeof subject, "link", self->id, self->issues++);
    Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
    request.workspace_id = S_WS;
    request.kind = S_KIND;
    request.subject_id = subject;
    return secpol_client_send (client, S_ISSUE, &request.base, call_id);
}

static int
s_send_consume (secpol_client_t *client, const char *token, uint64_t *call_id)
{
    Secpol__V1__ConsumeTokenRequest request = SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
    request.token = (char *)token;
    request.kind = S_KIND;
    return secpol_client_send (client, S_CONSUME, &request.base, call_id);
}

static int
s_send_lockout (secpol_client_t *client, const char *method, int thread, size_t subject,
                uint64_t *call_id)
{
    char name[64];
    s_subject (name, sizeof name, "user", thread, subject);
    Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
    request.workspace_id = S_WS;
    request.subject_id = name;
    request.kind = S_LOGIN;
    return secpol_client_send (client, method, &request.base, call_id);
}

static void
s_broken (client_t *self, const char *fmt, ...)
{
    if (self->error[0])
        return;
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->error, sizeof self->error, fmt, args);
    va_end (args);
}

/*  Sends the next write of this thread into slot. */
static void
s_send_next (secpol_client_t *client, client_t *self, pending_t *slot)
{
    int choice = rand_r (&self->seed) % 3;
    if (choice == 1 && self->next_consume < self->n_tokens) {
        slot->op = 1;
        slot->index = self->next_consume++;
        self->tokens[slot->index].state = TOK_CONSUMING;
        if (s_send_consume (client, self->tokens[slot->index].token, &slot->call_id) != SECPOL_OK)
            self->tokens[slot->index].state = TOK_UNKNOWN, slot->call_id = 0;
        return;
    }
    if (choice == 2 && self->n_subjects < S_MAX_SUBJ) {
        if (self->n_subjects == 0 || self->subjects[self->n_subjects - 1].sent >= S_PER_SUBJ)
            self->n_subjects++;
        slot->op = 2;
        slot->index = self->n_subjects - 1;
        self->subjects[slot->index].sent++;
        if (s_send_lockout (client, S_FAILURE, self->id, slot->index, &slot->call_id) != SECPOL_OK)
            slot->call_id = 0;
        return;
    }
    if (self->n_tokens + S_WINDOW >= S_MAX_TOK)
        return; /* full: leave the slot free */
    slot->op = 0;
    slot->index = 0;
    if (s_send_issue (client, self, &slot->call_id) != SECPOL_OK)
        slot->call_id = 0;
}

/*  Books one completion (code, response) of slot. */
static void
s_complete (client_t *self, pending_t *slot, int code, ProtobufCMessage *response)
{
    bool ok = code == SECPOL_OK;
    if (ok)
        atomic_fetch_add (&s_acked, 1);
    else if (code == SECPOL_UNAVAILABLE || code == SECPOL_DEADLINE_EXCEEDED)
        atomic_fetch_add (&s_unknown, 1);
    switch (slot->op) {
        case 0:
            if (ok) {
                Secpol__V1__IssueTokenResponse *issued = (Secpol__V1__IssueTokenResponse *)response;
                tok_t *tok = &self->tokens[self->n_tokens++];
                snprintf (tok->token, sizeof tok->token, "%s", issued->token);
                tok->state = TOK_ISSUED;
            } else if (code != SECPOL_UNAVAILABLE && code != SECPOL_DEADLINE_EXCEEDED)
                s_broken (self, "IssueToken answered %s", secpol_status_name (code));
            break;
        case 1: {
            tok_t *tok = &self->tokens[slot->index];
            if (ok)
                tok->state = TOK_CONSUMED;
            else if (code == SECPOL_UNAVAILABLE || code == SECPOL_DEADLINE_EXCEEDED)
                tok->state = TOK_UNKNOWN;
            else {
                /* its issue was acknowledged and nothing consumed it: lost */
                tok->state = TOK_UNKNOWN;
                s_broken (self, "an acknowledged link did not consume: %s",
                          secpol_status_name (code));
            }
            break;
        }
        default: {
            subj_t *subject = &self->subjects[slot->index];
            if (ok) {
                Secpol__V1__LockoutStatus *status = (Secpol__V1__LockoutStatus *)response;
                subject->acked++;
                if (status->failures > subject->sent || status->failures < subject->acked)
                    s_broken (self, "RecordFailure counted %u with %u sent, %u acknowledged",
                              status->failures, subject->sent, subject->acked);
            } else if (code != SECPOL_UNAVAILABLE && code != SECPOL_DEADLINE_EXCEEDED)
                s_broken (self, "RecordFailure answered %s", secpol_status_name (code));
            break;
        }
    }
    slot->call_id = 0;
}

static void *
s_client (void *arg)
{
    client_t *self = arg;
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = S_TIMEOUT;
    secpol_client_t *client = secpol_client_open (self->endpoint, &options, NULL);
    if (!client) {
        s_broken (self, "no client");
        return NULL;
    }
    pending_t slots[S_WINDOW] = {{0}};
    size_t in_flight = 0;
    for (;;) {
        pthread_mutex_lock (&s_mutex);
        bool pause = s_pause, quit = s_quit;
        if ((pause || quit) && in_flight == 0) {
            if (quit) {
                pthread_mutex_unlock (&s_mutex);
                break;
            }
            s_paused++;
            pthread_cond_broadcast (&s_changed);
            while (s_pause && !s_quit)
                pthread_cond_wait (&s_changed, &s_mutex);
            s_paused--;
            pthread_mutex_unlock (&s_mutex);
            continue;
        }
        pthread_mutex_unlock (&s_mutex);
        if (!pause && !quit)
            for (size_t i = 0; i < S_WINDOW; i++)
                if (slots[i].call_id == 0) {
                    s_send_next (client, self, &slots[i]);
                    if (slots[i].call_id)
                        in_flight++;
                }
        if (in_flight == 0) {
            struct timespec idle = {0, 1000000}; /* nothing left to send: wait for main */
            nanosleep (&idle, NULL);
            continue;
        }
        uint64_t call_id = 0;
        ProtobufCMessage *response = NULL;
        int code = secpol_client_recv (client, S_TIMEOUT * 2, &call_id, &response);
        for (size_t i = 0; call_id && i < S_WINDOW; i++)
            if (slots[i].call_id == call_id) {
                s_complete (self, &slots[i], code, response);
                in_flight--;
                break;
            }
        if (response)
            protobuf_c_message_free_unpacked (response, NULL);
    }
    secpol_client_destroy (&client);
    return NULL;
}

/*  Waits until every client is paused with nothing in flight. */
static void
s_pause_clients (void)
{
    pthread_mutex_lock (&s_mutex);
    s_pause = true;
    while (s_paused < S_THREADS)
        pthread_cond_wait (&s_changed, &s_mutex);
    pthread_mutex_unlock (&s_mutex);
}

static void
s_resume_clients (void)
{
    pthread_mutex_lock (&s_mutex);
    s_pause = false;
    pthread_cond_broadcast (&s_changed);
    pthread_mutex_unlock (&s_mutex);
}

/*  What the checker asks about one item, and what it expects. */
typedef struct {
    int kind;         /* 0 verify a link, 1 consume a consumed link, 2 check a counter */
    client_t *owner;  /* whose item */
    size_t index;     /* token or subject */
    uint64_t call_id; /* in flight */
} probe_t;

/*  Checks one answer; returns the acknowledged writes it vouches for, or
 *  fails the test. */
static uint64_t
s_judge (const probe_t *probe, int code, ProtobufCMessage *response)
{
    switch (probe->kind) {
        case 0:
            if (code != SECPOL_OK)
                fail_msg ("an acknowledged link is gone after a crash: VerifyToken answered %s",
                          secpol_status_name (code));
            return 1;
        case 1:
            if (code == SECPOL_OK)
                fail_msg ("a single-use link consumed twice across a crash");
            if (code != SECPOL_NOT_FOUND)
                fail_msg ("consuming a consumed link answered %s", secpol_status_name (code));
            return 2; /* its issue and its consume */
        default: {
            if (code != SECPOL_OK)
                fail_msg ("CheckLockout answered %s", secpol_status_name (code));
            const subj_t *subject = &probe->owner->subjects[probe->index];
            uint32_t failures = ((Secpol__V1__LockoutStatus *)response)->failures;
            if (failures < subject->acked)
                fail_msg (
                    "a lockout counter lost acknowledged failures: %u stored, %u acknowledged",
                    failures, subject->acked);
            if (failures > subject->sent)
                fail_msg ("a lockout counter holds %u failures, only %u were sent", failures,
                          subject->sent);
            return subject->acked;
        }
    }
}

/*  Checks every acknowledged write of every client against the running
 *  secpold, S_BATCH calls in flight at a time. Returns how many writes it
 *  checked. */
static uint64_t
s_check_all (secpol_test_daemon_t *daemon, client_t *clients)
{
    secpol_client_t *client = secpol_test_client (daemon);
    secpol_client_set_timeout (client, 30000);
    probe_t *probes = calloc (S_BATCH, sizeof *probes);
    assert_non_null (probes);
    uint64_t checked = 0;
    size_t n = 0;
    for (int t = 0; t <= S_THREADS; t++) {
        /* gather items into probes; flush when full or at the end */
        client_t *owner = t < S_THREADS ? &clients[t] : NULL;
        size_t items = owner ? owner->n_tokens + owner->n_subjects : 0;
        for (size_t i = 0; i <= items; i++) {
            bool flush = (t == S_THREADS && i == items) || n == S_BATCH;
            if (flush && n) {
                for (size_t k = 0; k < n; k++) {
                    uint64_t call_id = 0;
                    ProtobufCMessage *response = NULL;
                    int code = secpol_client_recv (client, 30000, &call_id, &response);
                    size_t at = 0;
                    while (at < n && probes[at].call_id != call_id)
                        at++;
                    if (at == n)
                        fail_msg ("no answer from the restarted secpold: %s",
                                  secpol_client_status (client)->message);
                    checked += s_judge (&probes[at], code, response);
                    if (response)
                        protobuf_c_message_free_unpacked (response, NULL);
                }
                n = 0;
            }
            if (i == items)
                break;
            probe_t *probe = &probes[n];
            probe->owner = owner;
            int rc;
            if (i < owner->n_tokens) {
                tok_t *tok = &owner->tokens[i];
                if (tok->state == TOK_ISSUED) {
                    probe->kind = 0;
                    Secpol__V1__VerifyTokenRequest request = SECPOL__V1__VERIFY_TOKEN_REQUEST__INIT;
                    request.token = tok->token;
                    request.kind = S_KIND;
                    rc = secpol_client_send (client, S_VERIFY, &request.base, &probe->call_id);
                } else if (tok->state == TOK_CONSUMED) {
                    probe->kind = 1;
                    rc = s_send_consume (client, tok->token, &probe->call_id);
                } else
                    continue; /* its consume got no answer: either outcome is right */
            } else {
                probe->kind = 2;
                probe->index = i - owner->n_tokens;
                if (owner->subjects[probe->index].sent == 0)
                    continue;
                rc = s_send_lockout (client, S_CHECK, owner->id, probe->index, &probe->call_id);
            }
            probe->index = i < owner->n_tokens ? i : i - owner->n_tokens;
            assert_int_equal (rc, SECPOL_OK);
            n++;
        }
    }
    free (probes);
    secpol_client_destroy (&client);
    return checked;
}

/*  Waits until `more` further writes are acknowledged (the kill moment),
 *  failing when progress stops for the test deadline. */
static void
s_wait_acks (uint64_t more)
{
    uint64_t target = atomic_load (&s_acked) + more;
    uint64_t last = atomic_load (&s_acked);
    long long stalled_since = secpol_test_now_ms ();
    while (atomic_load (&s_acked) < target) {
        uint64_t now_acked = atomic_load (&s_acked);
        if (now_acked != last) {
            last = now_acked;
            stalled_since = secpol_test_now_ms ();
        } else if (secpol_test_now_ms () - stalled_since > SECPOL_TEST_DEADLINE_MS)
            fail_msg ("no write acknowledged for %d ms", SECPOL_TEST_DEADLINE_MS);
        struct timespec pause = {0, 1000000};
        nanosleep (&pause, NULL); /* a poll of the real condition, bounded above */
    }
}

/*  Opens the store with LMDB itself and reads every entry of every table. */
static size_t
s_walk_store (const char *data_dir)
{
    MDB_env *env = NULL;
    assert_int_equal (mdb_env_create (&env), 0);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, 0);
    assert_int_equal (mdb_env_open (env, data_dir, MDB_RDONLY, 0600), 0);
    MDB_txn *txn = NULL;
    assert_int_equal (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    MDB_dbi main_dbi;
    assert_int_equal (mdb_dbi_open (txn, NULL, 0, &main_dbi), 0);
    MDB_cursor *tables = NULL;
    assert_int_equal (mdb_cursor_open (txn, main_dbi, &tables), 0);
    MDB_val name, value;
    size_t entries = 0, n_tables = 0;
    int rc = mdb_cursor_get (tables, &name, &value, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get (tables, &name, &value, MDB_NEXT)) {
        char table[128];
        snprintf (table, sizeof table, "%.*s", (int)name.mv_size, (const char *)name.mv_data);
        MDB_dbi dbi;
        assert_int_equal (mdb_dbi_open (txn, table, 0, &dbi), 0);
        MDB_stat stat;
        assert_int_equal (mdb_stat (txn, dbi, &stat), 0);
        MDB_cursor *cursor = NULL;
        assert_int_equal (mdb_cursor_open (txn, dbi, &cursor), 0);
        size_t walked = 0;
        MDB_val k, v;
        int step = mdb_cursor_get (cursor, &k, &v, MDB_FIRST);
        for (; step == 0; step = mdb_cursor_get (cursor, &k, &v, MDB_NEXT))
            walked++;
        assert_int_equal (step, MDB_NOTFOUND);
        assert_int_equal (walked, stat.ms_entries);
        mdb_cursor_close (cursor);
        entries += walked;
        n_tables++;
    }
    assert_int_equal (rc, MDB_NOTFOUND);
    assert_true (n_tables >= 4);
    mdb_cursor_close (tables);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return entries;
}

static void
test_acknowledged_writes_survive_sigkill_under_load (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    const char *seed_text = getenv ("SECPOL_CRASH_SEED");
    unsigned seed = seed_text ? (unsigned)strtoul (seed_text, NULL, 10) : (unsigned)time (NULL);
    srand (seed);
    printf ("crash test seed %u (SECPOL_CRASH_SEED=%u repeats the kill moments)\n", seed, seed);

    client_t *clients = calloc (S_THREADS, sizeof *clients);
    assert_non_null (clients);
    for (int t = 0; t < S_THREADS; t++) {
        clients[t].id = t;
        clients[t].endpoint = daemon->endpoint;
        clients[t].seed = seed + (unsigned)t + 1;
        clients[t].tokens = calloc (S_MAX_TOK, sizeof (tok_t));
        clients[t].subjects = calloc (S_MAX_SUBJ, sizeof (subj_t));
        assert_true (clients[t].tokens && clients[t].subjects);
        assert_int_equal (pthread_create (&clients[t].thread, NULL, s_client, &clients[t]), 0);
    }

    long long started = secpol_test_now_ms ();
    int kills = 0;
    uint64_t checked = 0;
    for (;;) {
        /* S_ROUNDS kills at least; more while the first half of the budget
         * lasts, so a fast build is tested harder and a slow one stays near
         * a minute */
        long long elapsed = secpol_test_now_ms () - started;
        if (kills >= S_ROUNDS && (kills >= 2 * S_ROUNDS || elapsed > S_BUDGET_S * 1000 / 2))
            break;
        s_wait_acks (1 + (uint64_t)(rand () % 400));
        int status = secpol_test_daemon_kill (daemon, SIGKILL);
        assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
        kills++;
        s_pause_clients ();
        /* the same store, the same endpoint: it must open and serve */
        assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
        checked = s_check_all (daemon, clients);
        for (int t = 0; t < S_THREADS; t++)
            if (clients[t].error[0])
                fail_msg ("client %d: %s", t, clients[t].error);
        s_resume_clients ();
    }

    pthread_mutex_lock (&s_mutex);
    s_quit = true;
    pthread_cond_broadcast (&s_changed);
    pthread_mutex_unlock (&s_mutex);
    for (int t = 0; t < S_THREADS; t++)
        pthread_join (clients[t].thread, NULL);
    for (int t = 0; t < S_THREADS; t++)
        if (clients[t].error[0])
            fail_msg ("client %d: %s", t, clients[t].error);

    /* a last kill with no check in between, then LMDB itself reads it all
     * (PostgreSQL, SECPOL_TEST_STORE: a query reads every record) */
    int status = secpol_test_daemon_kill (daemon, SIGKILL);
    assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    size_t entries = 0;
    if (secpol_test_daemon_store_url (daemon)) {
        free (secpol_test_daemon_store_bytes (daemon, &entries));
        assert_true (entries > 0);
    } else
        entries = s_walk_store (daemon->data_dir);
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    uint64_t final_checked = s_check_all (daemon, clients);
    assert_true (final_checked >= checked);

    size_t issued = 0, consumed = 0, failures = 0;
    for (int t = 0; t < S_THREADS; t++) {
        for (size_t i = 0; i < clients[t].n_tokens; i++)
            consumed += clients[t].tokens[i].state == TOK_CONSUMED;
        issued += clients[t].n_tokens;
        for (size_t i = 0; i < clients[t].n_subjects; i++)
            failures += clients[t].subjects[i].acked;
    }
    printf ("crash test: %d SIGKILLs in %.1f s; %llu acknowledged writes checked after the last "
            "restart (%zu links issued, %zu consumed once and refused after, %zu lockout "
            "failures); %llu writes got no answer; %zu %s\n",
            kills + 1, (double)(secpol_test_now_ms () - started) / 1000.0,
            (unsigned long long)final_checked, issued, consumed, failures,
            (unsigned long long)atomic_load (&s_unknown), entries,
            secpol_test_daemon_store_url (daemon) ? "bytes of records read back from PostgreSQL"
                                                  : "entries walked by LMDB");
    assert_true (issued > 0 && consumed > 0 && failures > 0);
    for (int t = 0; t < S_THREADS; t++) {
        free (clients[t].tokens);
        free (clients[t].subjects);
    }
    free (clients);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_acknowledged_writes_survive_sigkill_under_load),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
