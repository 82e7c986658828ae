/*  secpolctl_keygen.c - `secpolctl keygen NAME [--role R] [--dir D]`: a
 *  CURVE key pair as two czmq certificates (docs/SECURITY.md).
 *
 *  D/NAME is the public certificate: its metadata names it (name = NAME)
 *  and gives its role (role = admin or service). A client's goes into
 *  secpold's --authorized-keys dir; the server's own goes to every client
 *  as --server-key. D/NAME_secret holds the secret key too; it is created
 *  mode 0600 (under umask 077, never readable by others even for a moment)
 *  and stays on the host that uses it. Existing files are never
 *  overwritten. Needs no server.
 */
#include "secpolctl_internal.h"

#include "secpol/secpol_status.h"

#include <czmq.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_NAME_MAX 64 /* as secpold takes them (SECPOL_AUTH_NAME_MAX) */

static bool s_name_valid (const char *name);

int
secpolctl_run_keygen (const secpolctl_command_t *command, secpol_client_t *client, int argc,
                      char **argv)
{
    (void)command;
    (void)client;
    //  The dispatcher left its options spelled --name=value (secpolctl_internal.h).
    const char *role = "service", *dir = ".", *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp (argv[i], "--role=", 7) == 0)
            role = argv[i] + 7;
        else if (strncmp (argv[i], "--dir=", 6) == 0)
            dir = argv[i] + 6;
        else if (strcmp (argv[i], "--") == 0)
            continue;
        else if (!name && strncmp (argv[i], "--", 2) != 0)
            name = argv[i];
        else
            return secpolctl_usage_error ("keygen: unexpected \"%s\" (secpolctl keygen --help)",
                                          argv[i]);
    }
    if (!name)
        return secpolctl_usage_error ("keygen: name the key pair (secpolctl keygen --help)");
    if (!s_name_valid (name))
        return secpolctl_usage_error ("keygen: \"%s\" is not a name: 1-63 letters, digits, '.', "
                                      "'_', '-' or '@'",
                                      name);
    if (strcmp (role, "admin") != 0 && strcmp (role, "service") != 0)
        return secpolctl_usage_error ("keygen: --role is admin or service, not \"%s\"", role);

    char public_path[PATH_MAX], secret_path[PATH_MAX + 8];
    if (snprintf (public_path, sizeof public_path, "%s/%s", dir, name) >= (int)sizeof public_path)
        return secpolctl_usage_error ("keygen: %s/%s is too long a path", dir, name);
    snprintf (secret_path, sizeof secret_path, "%s_secret", public_path);
    struct stat st;
    if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
        fprintf (stderr, "FAILED_PRECONDITION: --dir %s is not a directory\n", dir);
        return SECPOL_FAILED_PRECONDITION;
    }
    const char *existing = lstat (public_path, &st) == 0   ? public_path
                           : lstat (secret_path, &st) == 0 ? secret_path
                                                           : NULL;
    if (existing) {
        fprintf (stderr, "ALREADY_EXISTS: %s exists; keygen never overwrites a key\n", existing);
        return SECPOL_ALREADY_EXISTS;
    }
    zcert_t *cert = zcert_new ();
    if (!cert) {
        fprintf (stderr, "INTERNAL: cannot make a key pair\n");
        return SECPOL_INTERNAL;
    }
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "role", "%s", role);
    mode_t old_mask = umask (077); /* the secret file is never readable by others */
    int rc = zcert_save_secret (cert, secret_path);
    umask (old_mask);
    if (rc == 0)
        rc = zcert_save_public (cert, public_path);
    if (rc == 0)
        rc = chmod (secret_path, 0600);
    if (rc != 0) {
        fprintf (stderr, "INTERNAL: cannot write %s and %s in %s\n", public_path, secret_path, dir);
        unlink (secret_path);
        unlink (public_path);
        zcert_destroy (&cert);
        return SECPOL_INTERNAL;
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, zcert_public_key (cert), 32);
    char hex[17];
    sodium_bin2hex (hex, sizeof hex, digest, 8);
    printf ("name: %s\nrole: %s\npublic: %s\nsecret: %s\nfingerprint: sha256:%s\n", name, role,
            public_path, secret_path, hex);
    zcert_destroy (&cert);
    return SECPOLCTL_EXIT_OK;
}

static bool
s_name_valid (const char *name)
{
    size_t length = strlen (name);
    return length > 0 && length < S_NAME_MAX &&
           strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") ==
               length &&
           name[0] != '.';
}
