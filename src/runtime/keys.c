/*  keys.c - the master key file and derived keys; see keys.h. */
#include "keys.h"

#include "alloc.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct secpol_keys {
    uint8_t *master; /* crypto_kdf_KEYBYTES, sodium_malloc'd */
};

static int
s_read_all (int fd, uint8_t *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = read (fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

static int
s_write_all (int fd, const uint8_t *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = write (fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

int
secpol_keys_open (secpol_keys_t **keys_p, const char *dir)
{
    char path[4096];
    if ((size_t)snprintf (path, sizeof path, "%s/%s", dir, SECPOL_KEY_FILE) >= sizeof path)
        return ENAMETOOLONG;
    return secpol_keys_open_file (keys_p, path);
}

int
secpol_keys_open_file (secpol_keys_t **keys_p, const char *path)
{
    if (sodium_init () < 0)
        return ENOSYS;
    secpol_keys_t *self = secpol_xcalloc (1, sizeof *self);
    self->master = sodium_malloc (crypto_kdf_KEYBYTES);
    if (!self->master)
        secpol_out_of_memory (crypto_kdf_KEYBYTES);
    int rc = 0;
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        struct stat st;
        if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size != crypto_kdf_KEYBYTES ||
            (st.st_mode & 077) || s_read_all (fd, self->master, crypto_kdf_KEYBYTES) != 0)
            rc = SECPOL_ECORRUPT;
        close (fd);
    } else if (errno == ENOENT) {
        /* First start: a new key, written whole before anyone can read it. */
        crypto_kdf_keygen (self->master);
        fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            rc = errno;
        else {
            if (s_write_all (fd, self->master, crypto_kdf_KEYBYTES) != 0 || fsync (fd) != 0)
                rc = errno ? errno : EIO;
            close (fd);
            if (rc)
                unlink (path);
        }
    } else
        rc = errno;
    if (rc) {
        secpol_keys_close (&self);
        return rc;
    }
    *keys_p = self;
    return 0;
}

void
secpol_keys_close (secpol_keys_t **keys_p)
{
    if (!keys_p || !*keys_p)
        return;
    sodium_free ((*keys_p)->master); /* wipes it */
    free (*keys_p);
    *keys_p = NULL;
}

void
secpol_keys_derive (const secpol_keys_t *keys, uint8_t out[SECPOL_KEY_BYTES], const char context[8],
                    uint64_t id)
{
    crypto_kdf_derive_from_key (out, SECPOL_KEY_BYTES, id, context, keys->master);
}
