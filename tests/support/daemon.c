/*  daemon.c - start and stop a real secpold for tests; see daemon.h. */
#include "daemon.h"

#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int s_spawn (secpol_test_daemon_t *self, const char *const *extra_args);
static bool s_health (const secpol_test_daemon_t *self, int timeout_ms);

int
secpol_test_daemon_start (secpol_test_daemon_t *self, const char *const *extra_args)
{
    memset (self, 0, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "/tmp/secpol-test-XXXXXX");
    if (!mkdtemp (self->dir)) {
        perror ("mkdtemp");
        return -1;
    }
    snprintf (self->data_dir, sizeof self->data_dir, "%s/data", self->dir);
    snprintf (self->endpoint, sizeof self->endpoint, "ipc://%s/secpol.sock", self->dir);
    snprintf (self->log_path, sizeof self->log_path, "%s/secpold.log", self->dir);
    return s_spawn (self, extra_args);
}

int
secpol_test_daemon_restart (secpol_test_daemon_t *self, const char *const *extra_args)
{
    if (self->pid)
        secpol_test_daemon_kill (self, SIGTERM);
    return s_spawn (self, extra_args);
}

int
secpol_test_daemon_kill (secpol_test_daemon_t *self, int signal)
{
    if (!self->pid)
        return self->exit_status;
    kill (self->pid, signal);
    int status = 0;
    while (waitpid (self->pid, &status, 0) < 0 && errno == EINTR)
        ;
    self->pid = 0;
    self->exit_status = status;
    return status;
}

void
secpol_test_daemon_stop (secpol_test_daemon_t *self)
{
    bool was_running = self->pid != 0;
    int status = secpol_test_daemon_kill (self, SIGTERM);
    if (was_running && !(WIFEXITED (status) && WEXITSTATUS (status) == 0)) {
        /* A crash, a sanitizer report or a leak at exit: fail the test run
         * loudly rather than let a test pass over a broken daemon. */
        fprintf (stderr, "secpold did not stop cleanly (%s %d); its log:\n",
                 WIFSIGNALED (status) ? "signal" : "exit code",
                 WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
        char cmd[400];
        snprintf (cmd, sizeof cmd, "tail -n 40 '%s' >&2", self->log_path);
        if (system (cmd) != 0)
            fprintf (stderr, "(could not read %s)\n", self->log_path);
        abort ();
    }
    if (self->dir[0] && !getenv ("SECPOL_TEST_KEEP")) {
        char cmd[300];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", self->dir);
        if (system (cmd) != 0)
            fprintf (stderr, "could not remove %s\n", self->dir);
    }
}

static int
s_spawn (secpol_test_daemon_t *self, const char *const *extra_args)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = SECPOLD_PATH;
    argv[argc++] = "--endpoint";
    argv[argc++] = self->endpoint;
    argv[argc++] = "--data-dir";
    argv[argc++] = self->data_dir;
    argv[argc++] = "--log-level";
    argv[argc++] = "debug";
    bool test_clock = true;
    for (int i = 0; extra_args && extra_args[i] && argc < 62; i++)
        if (strcmp (extra_args[i], "--no-test-clock") == 0)
            test_clock = false;
        else
            argv[argc++] = extra_args[i];
    if (test_clock)
        argv[argc++] = "--test-clock";
    argv[argc] = NULL;

    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open (self->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2 (fd, STDERR_FILENO);
            close (fd);
        }
        execv (SECPOLD_PATH, (char *const *)argv);
        _exit (127);
    }
    self->pid = pid;
    for (int i = 0; i < 100; i++) {
        if (s_health (self, 100))
            return 0;
        int status;
        if (waitpid (pid, &status, WNOHANG) == pid) {
            self->pid = 0;
            self->exit_status = status;
            fprintf (stderr, "secpold exited early; log in %s\n", self->log_path);
            return -1;
        }
    }
    fprintf (stderr, "secpold did not answer Health/Check; log in %s\n", self->log_path);
    return -1;
}

int
secpol_test_raw (const secpol_test_daemon_t *self, int n, const void *const *frames,
                 const size_t *sizes, int timeout_ms, void **reply, size_t *reply_sizes)
{
    const void *all[16] = {""};
    size_t all_sizes[16] = {0};
    for (int i = 0; i < n && i < 15; i++) {
        all[i + 1] = frames[i];
        all_sizes[i + 1] = sizes[i];
    }
    return secpol_test_raw_frames (self, n < 15 ? n + 1 : 16, all, all_sizes, timeout_ms, reply,
                                   reply_sizes);
}

int
secpol_test_raw_frames (const secpol_test_daemon_t *self, int n, const void *const *frames,
                        const size_t *sizes, int timeout_ms, void **reply, size_t *reply_sizes)
{
    zsock_t *dealer = zsock_new_dealer (self->endpoint);
    if (!dealer)
        return 0;
    zsock_set_linger (dealer, 0);
    zmsg_t *msg = zmsg_new ();
    for (int i = 0; i < n; i++)
        zmsg_addmem (msg, frames[i], sizes[i]);
    zmsg_send (&msg, dealer);

    int count = 0;
    zpoller_t *poller = zpoller_new (dealer, NULL);
    if (zpoller_wait (poller, timeout_ms) == dealer) {
        zmsg_t *answer = zmsg_recv (dealer);
        zframe_t *delimiter = zmsg_pop (answer);
        zframe_destroy (&delimiter);
        zframe_t *frame;
        while ((frame = zmsg_pop (answer))) {
            if (count < 4 && reply) {
                reply[count] = malloc (zframe_size (frame) + 1);
                memcpy (reply[count], zframe_data (frame), zframe_size (frame));
                reply_sizes[count] = zframe_size (frame);
            }
            count++;
            zframe_destroy (&frame);
        }
        zmsg_destroy (&answer);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    return count;
}

static bool
s_health (const secpol_test_daemon_t *self, int timeout_ms)
{
    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = "/secpol.v1.Health/Check";
    header.call_id = 1;
    uint8_t buf[128];
    size_t len = secpol__v1__request_header__pack (&header, buf);
    const void *frames[] = {buf, ""};
    size_t sizes[] = {len, 0};
    void *reply[4] = {0};
    size_t reply_sizes[4] = {0};
    int count = secpol_test_raw (self, 2, frames, sizes, timeout_ms, reply, reply_sizes);
    bool ok = false;
    if (count == 2) {
        Secpol__V1__ResponseHeader *rh =
            secpol__v1__response_header__unpack (NULL, reply_sizes[0], reply[0]);
        ok = rh && rh->code == 0;
        secpol__v1__response_header__free_unpacked (rh, NULL);
    }
    for (int i = 0; i < count && i < 4; i++)
        free (reply[i]);
    return ok;
}

int
secpol_test_run (const secpol_test_daemon_t *self, char **out, const char *fmt, ...)
{
    char command[4096];
    va_list args;
    va_start (args, fmt);
    vsnprintf (command, sizeof command, fmt, args);
    va_end (args);
    setenv ("SECPOL_ENDPOINT", self->endpoint, 1);
    FILE *pipe = popen (command, "r");
    if (!pipe)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc (cap);
    size_t got;
    while ((got = fread (buf + len, 1, cap - len - 1, pipe)) > 0) {
        len += got;
        if (cap - len < 1024)
            buf = realloc (buf, cap *= 2);
    }
    buf[len] = '\0';
    int status = pclose (pipe);
    if (out)
        *out = buf;
    else
        free (buf);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}
