/*  auth.c - CURVE keys, the allow-list and the ZAP handler; see auth.h. */
#include "auth.h"

#include "alloc.h"
#include "log.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZAP_ENDPOINT               "inproc://zeromq.zap.01"
#define ZAP_DOMAIN                 "secpol"
#define MAX_KEY_FILES              10000 /* files read from the dir, at most */
#define MAX_CERT_BYTES             65536 /* a certificate is a few hundred bytes */
#define REFUSALS_LOGGED_PER_SECOND 10    /* a flood of bad handshakes cannot flood the log */

/*  One allowed client. */
typedef struct {
    secpol_role_t role;              /* from its metadata */
    char name[SECPOL_AUTH_NAME_MAX]; /* its metadata name, or the file name */
} entry_t;

struct secpol_auth {
    char *dir;                /* the allow-list directory */
    zcert_t *server_cert;     /* the server's keys */
    zhashx_t *keys;           /* Z85 public key -> entry_t */
    zsock_t *zap;             /* REP socket bound at ZAP_ENDPOINT */
    int watch_fd;             /* inotify on dir, or -1 */
    unsigned long generation; /* loads so far */
    time_t refusals_second;   /* the second refusals_logged counts in */
    unsigned refusals_logged; /* refusal lines written in that second */
    uint64_t refusals_quiet;  /* refusals not logged (over REFUSALS_LOGGED_PER_SECOND) */
};

static zhashx_t *s_load_dir (const char *dir, size_t *n_admin, size_t *n_service, bool *ok);
static bool s_load_one (zhashx_t *keys, const char *dir, const char *file);
static char *s_read_file (const char *path, size_t size);
static void s_answer (secpol_auth_t *self, zmsg_t *request);
static void s_entry_free (void **item);

secpol_auth_t *
secpol_auth_new (const char *secret_key_file, const char *authorized_dir, char *err,
                 size_t err_size)
{
    secpol_auth_t *self = secpol_xcalloc (1, sizeof *self);
    self->watch_fd = -1;
    self->dir = secpol_xstrdup (authorized_dir);
    char quoted[600];
    struct stat st;
    char secret_path[PATH_MAX];
    /* czmq reads FILE_secret first, then FILE: check the one it will read */
    snprintf (secret_path, sizeof secret_path, "%s_secret", secret_key_file);
    const char *checked = stat (secret_path, &st) == 0 ? secret_path : secret_key_file;
    if (stat (checked, &st) != 0) {
        snprintf (err, err_size, "--curve-secret-key %s: %s", secret_key_file, strerror (errno));
        goto fail;
    }
    if (!S_ISREG (st.st_mode) || st.st_size > MAX_CERT_BYTES) {
        snprintf (err, err_size, "--curve-secret-key %s is not a certificate file", checked);
        goto fail;
    }
    if (st.st_mode & 077) {
        snprintf (err, err_size,
                  "--curve-secret-key %s is readable by others (mode %04o): chmod 600 it", checked,
                  (unsigned)(st.st_mode & 07777));
        goto fail;
    }
    self->server_cert = zcert_load (secret_key_file);
    static const byte no_key[32] = {0};
    if (!self->server_cert || memcmp (zcert_secret_key (self->server_cert), no_key, 32) == 0) {
        snprintf (err, err_size,
                  "--curve-secret-key %s holds no CURVE secret key (make one with secpolctl "
                  "keygen)",
                  checked);
        goto fail;
    }
    DIR *probe = opendir (authorized_dir);
    if (!probe) {
        snprintf (err, err_size, "--authorized-keys %s: %s", authorized_dir, strerror (errno));
        goto fail;
    }
    closedir (probe);

    self->zap = zsock_new (ZMQ_REP);
    if (!self->zap || zmq_bind (zsock_resolve (self->zap), ZAP_ENDPOINT) != 0) {
        snprintf (err, err_size, "cannot bind the ZAP handler at %s: %s", ZAP_ENDPOINT,
                  zmq_strerror (zmq_errno ()));
        goto fail;
    }
    self->watch_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    if (self->watch_fd >= 0 &&
        inotify_add_watch (self->watch_fd, authorized_dir,
                           IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
                               IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        secpol_log (SECPOL_LOG_WARN, "cannot watch authorized keys",
                    "dir=%s error=\"%s\" note=\"send SIGHUP after changing it\"",
                    secpol_log_quote (quoted, sizeof quoted, authorized_dir), strerror (errno));
        close (self->watch_fd);
        self->watch_fd = -1;
    }
    secpol_auth_reload (self);
    char fingerprint[32];
    secpol_log (SECPOL_LOG_INFO, "curve on", "server_key=%s authorized_keys=%s",
                secpol_auth_fingerprint (fingerprint, sizeof fingerprint,
                                         zcert_public_key (self->server_cert)),
                secpol_log_quote (quoted, sizeof quoted, authorized_dir));
    return self;

fail:
    secpol_auth_destroy (&self);
    return NULL;
}

void
secpol_auth_destroy (secpol_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_auth_t *self = *self_p;
    zsock_destroy (&self->zap);
    if (self->watch_fd >= 0)
        close (self->watch_fd);
    zhashx_destroy (&self->keys);
    zcert_destroy (&self->server_cert);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

void
secpol_auth_apply (secpol_auth_t *self, void *socket)
{
    int on = 1;
    zmq_setsockopt (socket, ZMQ_CURVE_SERVER, &on, sizeof on);
    zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, zcert_secret_key (self->server_cert), 32);
    zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, zcert_public_key (self->server_cert), 32);
    /* a domain makes libzmq ask the ZAP handler, and refuse when none answers */
    zmq_setsockopt (socket, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen (ZAP_DOMAIN));
}

void *
secpol_auth_zap_socket (secpol_auth_t *self)
{
    return zsock_resolve (self->zap);
}

int
secpol_auth_watch_fd (secpol_auth_t *self)
{
    return self->watch_fd;
}

void
secpol_auth_watch_event (secpol_auth_t *self)
{
    char buf[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));
    bool changed = false;
    while (read (self->watch_fd, buf, sizeof buf) > 0)
        changed = true;
    if (changed)
        secpol_auth_reload (self);
}

void
secpol_auth_reload (secpol_auth_t *self)
{
    size_t n_admin = 0, n_service = 0;
    bool ok = true;
    zhashx_t *keys = s_load_dir (self->dir, &n_admin, &n_service, &ok);
    zhashx_destroy (&self->keys);
    self->keys = keys;
    self->generation++;
    char quoted[600];
    secpol_log (ok && n_admin + n_service ? SECPOL_LOG_INFO : SECPOL_LOG_WARN, "keys loaded",
                "dir=%s admin=%zu service=%zu generation=%lu%s",
                secpol_log_quote (quoted, sizeof quoted, self->dir), n_admin, n_service,
                self->generation,
                !ok                        ? " note=\"directory unreadable: every client refused\""
                : n_admin + n_service == 0 ? " note=\"no key: every client refused\""
                                           : "");
}

bool
secpol_auth_lookup (secpol_auth_t *self, const char *user_id, secpol_role_t *role,
                    const char **name)
{
    if (!user_id || strlen (user_id) != 40)
        return false;
    const entry_t *entry = zhashx_lookup (self->keys, user_id);
    if (!entry)
        return false;
    *role = entry->role;
    *name = entry->name;
    return true;
}

char *
secpol_auth_fingerprint (char *buf, size_t size, const unsigned char *public_key)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, public_key, 32);
    char hex[17];
    sodium_bin2hex (hex, sizeof hex, digest, 8);
    snprintf (buf, size, "sha256:%s", hex);
    return buf;
}

bool
secpol_auth_parse_role (const char *word, secpol_role_t *role)
{
    if (word && strcmp (word, "admin") == 0)
        *role = SECPOL_ROLE_ADMIN;
    else if (word && strcmp (word, "service") == 0)
        *role = SECPOL_ROLE_SERVICE;
    else
        return false;
    return true;
}

const char *
secpol_auth_role_name (secpol_role_t role)
{
    return role == SECPOL_ROLE_ADMIN ? "admin" : role == SECPOL_ROLE_SERVICE ? "service" : "any";
}

bool
secpol_auth_name_valid (const char *name)
{
    size_t length = strlen (name);
    if (length == 0 || length >= SECPOL_AUTH_NAME_MAX)
        return false;
    return strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") ==
           length;
}

void
secpol_auth_handle_zap (secpol_auth_t *self)
{
    while (zsock_events (self->zap) & ZMQ_POLLIN) {
        zmsg_t *request = zmsg_recv (self->zap);
        if (!request)
            return;
        s_answer (self, request);
    }
}

/* --- private --------------------------------------------------------------- */

/*  Reads every certificate of dir into a new table. */
static zhashx_t *
s_load_dir (const char *dir, size_t *n_admin, size_t *n_service, bool *ok)
{
    zhashx_t *keys = zhashx_new ();
    zhashx_set_destructor (keys, s_entry_free);
    DIR *handle = opendir (dir);
    if (!handle) {
        *ok = false;
        return keys;
    }
    size_t files = 0;
    struct dirent *item;
    while ((item = readdir (handle)) && files < MAX_KEY_FILES) {
        const char *file = item->d_name;
        size_t length = strlen (file);
        if (file[0] == '.' || (length > 7 && strcmp (file + length - 7, "_secret") == 0) ||
            file[length - 1] == '~')
            continue; /* hidden and editor files; secrets never belong here */
        files++;
        s_load_one (keys, dir, file);
    }
    closedir (handle);
    for (entry_t *entry = zhashx_first (keys); entry; entry = zhashx_next (keys))
        if (entry->role == SECPOL_ROLE_ADMIN)
            (*n_admin)++;
        else
            (*n_service)++;
    return keys;
}

/*  Adds one certificate file to keys, or warns why not. The file is read
 *  here and parsed with zconfig_str_load: czmq 4.2's zconfig_load (under
 *  zcert_load) leaks on a file that does not parse, and anyone who can
 *  write the dir can put such a file there. */
static bool
s_load_one (zhashx_t *keys, const char *dir, const char *file)
{
    char path[PATH_MAX], quoted[600];
    snprintf (path, sizeof path, "%s/%s", dir, file);
    struct stat st;
    if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
        return false; /* gone meanwhile, or a directory */
    const char *problem = NULL, *name = NULL, *public_text = NULL;
    secpol_role_t role = SECPOL_ROLE_ANY;
    zconfig_t *root = NULL;
    char *text = NULL;
    if (st.st_size > MAX_CERT_BYTES)
        problem = "larger than a certificate";
    else if (!(text = s_read_file (path, (size_t)st.st_size)))
        problem = "cannot be read";
    else if (!(root = zconfig_str_load (text)) ||
             !(public_text = zconfig_get (root, "curve/public-key", NULL)) ||
             strlen (public_text) != 40 || !zmq_z85_decode ((uint8_t[32]){0}, public_text))
        problem = "not a certificate (czmq zcert format, public-key in its curve section)";
    else if (!secpol_auth_parse_role (zconfig_get (root, "metadata/role", NULL), &role))
        problem = "its metadata role is not admin or service";
    else {
        name = zconfig_get (root, "metadata/name", NULL);
        if (!name || !*name)
            name = file;
        if (!secpol_auth_name_valid (name))
            problem = "its name is not 1-63 letters, digits, '.', '_', '-' or '@'";
        else if (zhashx_lookup (keys, public_text))
            problem = "its key is already listed by another file";
    }
    bool added = false;
    if (problem)
        secpol_log (SECPOL_LOG_WARN, "key file skipped", "path=%s reason=\"%s\"",
                    secpol_log_quote (quoted, sizeof quoted, path), problem);
    else {
        entry_t *entry = secpol_xcalloc (1, sizeof *entry);
        entry->role = role;
        snprintf (entry->name, sizeof entry->name, "%s", name);
        zhashx_insert (keys, public_text, entry);
        added = true;
    }
    zconfig_destroy (&root);
    free (text);
    return added;
}

/*  The first size bytes of path as a NUL-terminated string, or NULL. */
static char *
s_read_file (const char *path, size_t size)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    char *text = secpol_xmalloc (size + 1);
    size_t got = fread (text, 1, size, file);
    fclose (file);
    text[got] = '\0';
    return text;
}

/*  Answers one ZAP request (RFC 27): version, request id, domain, address,
 *  identity, mechanism, credentials. */
static void
s_answer (secpol_auth_t *self, zmsg_t *request)
{
    char *version = zmsg_popstr (request);
    char *request_id = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    zframe_t *identity = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *key = zmsg_pop (request);
    const char *status = "400", *text = "no access";
    char user_id[41] = "";
    if (version && strcmp (version, "1.0") == 0 && mechanism && strcmp (mechanism, "CURVE") == 0 &&
        key && zframe_size (key) == 32) {
        zmq_z85_encode (user_id, zframe_data (key), 32);
        secpol_role_t role;
        const char *name;
        char fingerprint[32], quoted[200];
        secpol_auth_fingerprint (fingerprint, sizeof fingerprint, zframe_data (key));
        if (secpol_auth_lookup (self, user_id, &role, &name)) {
            status = "200";
            text = "OK";
            if (secpol_log_enabled (SECPOL_LOG_DEBUG))
                secpol_log (SECPOL_LOG_DEBUG, "curve key accepted",
                            "name=%s role=%s fingerprint=%s address=%s", name,
                            secpol_auth_role_name (role), fingerprint,
                            secpol_log_quote (quoted, sizeof quoted, address));
        } else {
            user_id[0] = '\0';
            time_t now = time (NULL);
            if (now != self->refusals_second) {
                self->refusals_second = now;
                self->refusals_logged = 0;
            }
            if (self->refusals_logged++ < REFUSALS_LOGGED_PER_SECOND) {
                secpol_log (SECPOL_LOG_WARN, "curve key refused",
                            "fingerprint=%s address=%s reason=\"not in the authorized keys\" "
                            "not_logged_before=%llu",
                            fingerprint, secpol_log_quote (quoted, sizeof quoted, address),
                            (unsigned long long)self->refusals_quiet);
                self->refusals_quiet = 0;
            } else
                self->refusals_quiet++;
        }
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, request_id ? request_id : "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, user_id);
    zmsg_addmem (reply, NULL, 0); /* no metadata: roles are looked up per request */
    zmsg_send (&reply, self->zap);
    zstr_free (&version);
    zstr_free (&request_id);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&mechanism);
    zframe_destroy (&identity);
    zframe_destroy (&key);
    zmsg_destroy (&request);
}

static void
s_entry_free (void **item)
{
    free (*item);
    *item = NULL;
}
