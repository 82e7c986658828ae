/*  service_harness.c - see service_harness.h. */
#include "service_harness.h"

#include "fuzz_support.h"

#include "secpol/v1/rpc.pb-c.h"

#include <dirent.h>
#include <string.h>
#include <unistd.h>

static fuzz_service_t *s_started; /* the one to clean up at exit */

static void
s_cleanup (void)
{
    fuzz_service_t *self = s_started;
    secpol_server_destroy (&self->server);
    secpol_method_table_destroy (&self->methods);
    DIR *dir = opendir (self->dir);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        char path[PATH_MAX + 300];
        snprintf (path, sizeof path, "%s/%s", self->dir, entry->d_name);
        if (entry->d_name[0] != '.')
            unlink (path);
    }
    if (dir)
        closedir (dir);
    rmdir (self->dir);
}

void
fuzz_service_start (fuzz_service_t *self, const char *name)
{
    self->methods = secpol_method_table_default ();
    if (!self->methods)
        abort ();
    const char *tmp = getenv ("TMPDIR");
    snprintf (self->dir, sizeof self->dir, "%s/secpol-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (self->dir)) {
        perror (self->dir);
        abort ();
    }
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://%s-%d", name, (int)getpid ());
    secpol_server_config_t config = {
        .endpoints = {endpoint},
        .n_endpoints = 1,
        .data_dir = self->dir,
        .read_workers = 1,
        .slow_workers = 1,
        .store = {.no_sync = true},
        .methods = self->methods,
    };
    char err[512];
    self->server = secpol_server_new (&config, err, sizeof err);
    if (!self->server) {
        fprintf (stderr, "%s: server in %s: %s\n", name, self->dir, err);
        abort ();
    }
    self->store = secpol_server_store (self->server);
    s_started = self;
    atexit (s_cleanup);
}

const secpol_method_t *
fuzz_service_method (const fuzz_service_t *self, const char *path)
{
    const secpol_method_t *method = secpol_method_table_find (self->methods, path);
    if (!method || !method->spec) {
        fprintf (stderr, "fuzz: no row for %s\n", path);
        abort ();
    }
    return method;
}

int
fuzz_service_call (fuzz_service_t *self, secpol_txn_t *top, secpol_arena_t *arena,
                   const secpol_method_t *method, const secpol_handler_t *handler, bool write,
                   bool no_txn, int64_t now, void *slow_result, const ProtobufCMessage *request,
                   ProtobufCMessage **response_p, secpol_call_t *call)
{
    FUZZ_REQUIRE (handler, "%s has no such handler", method->path);
    secpol_txn_t *txn = top;
    if (write) {
        int rc = secpol_txn_begin (self->store, top, true, &txn);
        FUZZ_REQUIRE (rc == 0, "nested transaction: %s", secpol_strerror (rc));
    }
    memset (call, 0, sizeof *call);
    call->arena = arena;
    call->txn = no_txn ? NULL : txn;
    call->writable = write;
    call->now = now;
    call->method = method->path;
    call->request_id = "";
    call->caller = "";
    call->role = SECPOL_ROLE_ADMIN;
    call->server = self->server;
    call->slow_result = slow_result;
    if (write)
        secpol_txn_set_owner (txn, call); /* as the WRITE lane: the audit log names the call */
    *response_p = secpol_arena_message (arena, method->descriptor->output);
    int code = handler->fn (call, request, *response_p);
    if (write) {
        if (code == SECPOL_OK) {
            int rc = secpol_txn_commit (&txn);
            FUZZ_REQUIRE (rc == 0, "nested commit: %s", secpol_strerror (rc));
        } else
            secpol_txn_abort (&txn);
    }
    return code;
}

void
fuzz_require_violations (const secpol_call_t *call, const char *path)
{
    FUZZ_REQUIRE (call->n_violations > 0, "%s: INVALID_ARGUMENT without a violation", path);
    for (size_t k = 0; k < call->n_violations; k++) {
        const Secpol__V1__FieldViolation *v =
            (const Secpol__V1__FieldViolation *)call->violations[k];
        FUZZ_REQUIRE (*v->field && *v->description, "%s: violation \"%s\": \"%s\"", path, v->field,
                      v->description);
    }
}

void
fuzz_service_steps (const uint8_t *data, size_t size, int max_steps,
                    void (*step) (void *ctx, uint8_t op, const uint8_t *bytes, size_t size),
                    void *ctx)
{
    for (int steps = 0; size >= 3 && steps < max_steps; steps++) {
        uint8_t op = data[0];
        size_t length = (size_t)data[1] | (size_t)data[2] << 8;
        data += 3;
        size -= 3;
        if (length > size)
            length = size;
        uint8_t *bytes = malloc (length + 1);
        memcpy (bytes, data, length);
        step (ctx, op, bytes, length);
        free (bytes);
        data += length;
        size -= length;
    }
}

typedef struct {
    fuzz_txn_step_fn *step; /* the target's step */
    secpol_txn_t *top;      /* its write transaction */
    secpol_arena_t *arena;  /* its arena */
} s_txn_steps_t;

static void
s_txn_step (void *ctx, uint8_t op, const uint8_t *bytes, size_t size)
{
    s_txn_steps_t *steps = ctx;
    steps->step (steps->top, steps->arena, op, bytes, size);
}

void
fuzz_service_txn_steps (const uint8_t *data, size_t size, int max_steps, fuzz_txn_step_fn *step,
                        secpol_txn_t *top, secpol_arena_t *arena)
{
    s_txn_steps_t steps = {step, top, arena};
    fuzz_service_steps (data, size, max_steps, s_txn_step, &steps);
}
