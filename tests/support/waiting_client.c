/*  waiting_client.c - a client program that says where it is.
 *
 *  For the signal tests, which need a fresh program: signal dispositions as
 *  exec left them, and czmq not yet initialised (a test process that has
 *  talked to secpold already initialised it, so it could not tell whether
 *  the library lets czmq take SIGINT/SIGTERM over). It reports on stdout,
 *  so the test acts at a known point instead of after a sleep.
 *
 *      waiting_client ENDPOINT
 *          -> "connected"  secpol_client_new() returned: czmq is initialised
 *                          and the library's socket exists
 *          <- a line on stdin (the test pauses secpold, then writes it)
 *          -> "calling"    about to make a Health/Check call that waits up
 *                          to 60 s for its reply
 *          Exits 0 when the call answered, 1 when it failed.
 *
 *      waiting_client --own-handler ENDPOINT
 *          Installs its own SIGTERM handler, connects, checks the handler is
 *          still installed, raises SIGTERM, checks the handler ran and a call
 *          still answers. Prints "handler kept" and exits 0, or says what
 *          went wrong and exits 1.
 *
 *  Exits 2 on bad use.
 */
#include "secpol/secpol_client.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t s_seen;

static void
s_handler (int sig)
{
    s_seen = sig;
}

static int
s_health (secpol_client_t *client)
{
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.Health/Check", NULL, &response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

/*  The default run: connect, wait for the go, call a paused secpold. */
static int
s_wait_in_call (const char *endpoint)
{
    secpol_client_t *client = secpol_client_new (endpoint, 10000);
    if (!client) {
        fprintf (stderr, "waiting_client: no secpold answers at %s\n", endpoint);
        return 1;
    }
    printf ("connected\n");
    fflush (stdout);
    char go[16];
    if (!fgets (go, sizeof go, stdin)) {
        secpol_client_destroy (&client);
        return 2;
    }
    secpol_client_set_timeout (client, 60000);
    printf ("calling\n");
    fflush (stdout);
    int code = s_health (client);
    secpol_client_destroy (&client);
    return code == SECPOL_OK ? 0 : 1;
}

/*  A program's own handler stays installed, runs, and the client works. */
static int
s_own_handler (const char *endpoint)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_handler;
    sigemptyset (&action.sa_mask);
    if (sigaction (SIGTERM, &action, NULL) != 0)
        return 2;
    secpol_client_t *client = secpol_client_new (endpoint, 10000);
    if (!client) {
        printf ("no secpold answers at %s\n", endpoint);
        return 1;
    }
    int rc = 1;
    struct sigaction now;
    if (sigaction (SIGTERM, NULL, &now) != 0 || now.sa_handler != s_handler)
        printf ("handler replaced\n");
    else if (raise (SIGTERM) != 0 || s_seen != SIGTERM)
        printf ("handler did not run\n");
    else if (s_health (client) != SECPOL_OK)
        printf ("call after the signal failed\n");
    else {
        printf ("handler kept\n");
        rc = 0;
    }
    secpol_client_destroy (&client);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc == 2)
        return s_wait_in_call (argv[1]);
    if (argc == 3 && strcmp (argv[1], "--own-handler") == 0)
        return s_own_handler (argv[2]);
    fprintf (stderr, "usage: waiting_client [--own-handler] ENDPOINT\n");
    return 2;
}
