/*  auth.h - CURVE encryption and the client allow-list (CurveZMQ, RFC 26;
 *  ZAP, RFC 27).
 *
 *  With --curve-secret-key FILE and --authorized-keys DIR secpold's ROUTER
 *  is a CURVE server. Every client connects with a key pair of its own
 *  (`secpolctl keygen`); DIR holds one public certificate per client
 *  allowed in, a czmq zcert file whose metadata names it and gives its
 *  role:
 *
 *      metadata
 *          name = "billing"
 *          role = "service"        (or "admin")
 *      curve
 *          public-key = "..."
 *
 *  secpol_auth_t answers the ZAP requests libzmq makes during each
 *  handshake (a REP socket on inproc://zeromq.zap.01, polled by the front
 *  end thread beside the ROUTER): a key in the allow-list is accepted with
 *  its public key as ZAP User-Id, any other is refused (400) and logged by
 *  its fingerprint, never the key. Then every request is looked up again
 *  by that User-Id (secpol_auth_lookup), so that a key removed from DIR
 *  loses its access at the next request even on a connection made before,
 *  and a changed role applies at once.
 *
 *  DIR is read again on SIGHUP (secpol_server_reload) and whenever it
 *  changes (inotify: secpol_auth_watch_fd). A file that cannot be read, or
 *  names no valid role, is skipped with a warning; the others load.
 *
 *  Threads: one thread (the front end) calls everything.
 */
#ifndef SECPOL_AUTH_H_INCLUDED
#define SECPOL_AUTH_H_INCLUDED

#include "call.h"

#include <stdbool.h>
#include <stddef.h>

/*  Longest certificate name kept (a caller in revisions and audit events). */
#define SECPOL_AUTH_NAME_MAX 64

typedef struct secpol_auth secpol_auth_t;

/*  Loads the server's certificate from secret_key_file (a czmq certificate
 *  with a secret key: `secpolctl keygen` writes NAME_secret; NAME is
 *  accepted too, czmq then reads NAME_secret) and the allow-list from
 *  authorized_dir, binds the ZAP handler and starts watching the dir.
 *  Refuses, with a reason in err and NULL: a key file that is missing,
 *  holds no secret key, or is readable by group or others (chmod 600); a
 *  dir that cannot be read; a ZAP handler already bound in this process.
 *  An empty allow-list is allowed (every client refused) and warned
 *  about. Caller owns return value. */
secpol_auth_t *secpol_auth_new (const char *secret_key_file, const char *authorized_dir, char *err,
                                size_t err_size);

/*  Unbinds the ZAP handler, stops watching, frees the list. NULL-safe;
 *  nulls the pointer. */
void secpol_auth_destroy (secpol_auth_t **self_p);

/*  Makes socket (a ROUTER, before it binds) a CURVE server with the
 *  server's keys, whose handshakes ask this ZAP handler. */
void secpol_auth_apply (secpol_auth_t *self, void *socket);

/*  The ZAP socket (libzmq handle) to poll for ZMQ_POLLIN. */
void *secpol_auth_zap_socket (secpol_auth_t *self);

/*  Answers every ZAP request waiting, without blocking. */
void secpol_auth_handle_zap (secpol_auth_t *self);

/*  A descriptor that turns readable when DIR changes (poll it for
 *  POLLIN), or -1 when it cannot be watched (then only SIGHUP reloads). */
int secpol_auth_watch_fd (secpol_auth_t *self);

/*  After the watch fd turned readable: drains it and reloads the list. */
void secpol_auth_watch_event (secpol_auth_t *self);

/*  Reads DIR again and replaces the list (a dir that cannot be read
 *  leaves it empty: fail closed), logging "keys loaded" with how many of
 *  each role, and the generation (1 at start, then one more per load). */
void secpol_auth_reload (secpol_auth_t *self);

/*  Looks the ZAP User-Id of a connection (the client's public key in Z85,
 *  as zmq_msg_gets (msg, "User-Id") gives it) up in the current list.
 *  Returns true and sets *role and *name (owned by the list: copy it
 *  before the next reload) when the key is allowed; false otherwise. */
bool secpol_auth_lookup (secpol_auth_t *self, const char *user_id, secpol_role_t *role,
                         const char **name);

/*  Writes "sha256:" and the first 16 hex digits of SHA-256 of a 32-byte
 *  public key into buf (at least 24 bytes): how logs and `secpolctl
 *  keygen` name a key without showing it. Returns buf. */
char *secpol_auth_fingerprint (char *buf, size_t size, const unsigned char *public_key);

/*  Parses a role word ("admin", "service"). Returns false for anything
 *  else. */
bool secpol_auth_parse_role (const char *word, secpol_role_t *role);

/*  The word of a role ("any", "service", "admin"). */
const char *secpol_auth_role_name (secpol_role_t role);

/*  True when name is a valid certificate name: 1 to SECPOL_AUTH_NAME_MAX
 *  - 1 bytes of letters, digits, '.', '_', '-' and '@'. */
bool secpol_auth_name_valid (const char *name);

#endif
