/*  session_store.h - how SessionService keeps login sessions.
 *
 *  Table secpol_session_table ("session") holds one packed
 *  secpol.store.v1.SessionRecord per live session under the keyed hash of
 *  its token (SECPOL_SECRET_TOKEN_HASH bytes, secret_token.h, context
 *  "sessnmac"): the store never holds a usable token, and a validation is
 *  one lookup by hash.
 *
 *  Table secpol_session_subject_table ("session_subject") indexes every
 *  session by its subject under the key
 *      u8 len(workspace_id) workspace_id u8 len(subject_id) subject_id
 *      be64 created_at  session_id (SECPOL_SESSION_ID_BYTES)
 *  with the session's token hash as value. A subject's sessions are
 *  therefore contiguous and ordered oldest first, and every operation on
 *  "all sessions of a subject" is one prefix scan of at most
 *  SECPOL_SESSION_PER_SUBJECT_MAX entries (CreateSession evicts the least
 *  recently seen session past that count).
 *
 *  Both entries of a session that ends (idle deadline or absolute lifetime,
 *  whichever comes first) are indexed in the expiry table (expiry.h) at
 *  that time and move together when a touch moves the idle deadline, so
 *  the sweep deletes both. The sweep may delete them in different batches:
 *  an index entry whose record is gone is skipped (and deleted by the next
 *  write that meets it), and a record is always checked against its own
 *  deadlines before it is believed.
 *
 *  Threads: read functions in any transaction; write functions only in a
 *  write transaction (the WRITE lane).
 */
#ifndef SECPOL_SESSION_STORE_H_INCLUDED
#define SECPOL_SESSION_STORE_H_INCLUDED

#include "arena.h"
#include "secret_token.h"
#include "store.h"

#include "secpol/store/v1/session_record.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  The tables SessionService owns. */
extern const secpol_table_t secpol_session_table;         /* record by token hash */
extern const secpol_table_t secpol_session_subject_table; /* index by workspace + subject */

#define SECPOL_SESSION_TOKEN_PREFIX    "sps_"     /* secret_token.h prefix of session tokens */
#define SECPOL_SESSION_HASH_CONTEXT    "sessnmac" /* secpol_secret_token_hash context */
#define SECPOL_SESSION_ID_BYTES        8          /* random bytes of the public session id */
#define SECPOL_SESSION_ID_HEX          (2 * SECPOL_SESSION_ID_BYTES)
#define SECPOL_SESSION_PER_SUBJECT_MAX 100 /* live sessions of one subject in one workspace */
#define SECPOL_SESSION_ID_MAX          128 /* bytes of a workspace_id or subject_id */
#define SECPOL_SESSION_PREFIX_MAX      (2 + 2 * SECPOL_SESSION_ID_MAX)
#define SECPOL_SESSION_INDEX_KEY_MAX   (SECPOL_SESSION_PREFIX_MAX + 8 + SECPOL_SESSION_ID_BYTES)

/*  Revokes every live session of subject_id in workspace_id inside txn (a
 *  write transaction), except the one whose token hash is
 *  except_session_hash (SECPOL_SECRET_TOKEN_HASH raw bytes, from
 *  secpol_secret_token_hash with SECPOL_SESSION_HASH_CONTEXT; void * so
 *  that char and uint8_t buffers both pass; NULL = none kept).
 *  Each revoked session's record, index entry and expiry entries are
 *  deleted. *revoked (may be NULL) receives the number of sessions
 *  deleted; one past its deadline that the sweep has not reached yet
 *  counts too (this function is not given the time; see
 *  secpol_session_revoke_all_at).
 *
 *  This is what a consumed password-reset token calls (OWASP ASVS 4.0.3
 *  V3.3.3) and what RevokeAllSessions and CreateSession (concurrent login
 *  off) use. It is one prefix scan of at most SECPOL_SESSION_PER_SUBJECT_MAX
 *  index entries (plus stale ones the sweep has not reached yet).
 *
 *  workspace_id and subject_id must be non-empty and at most
 *  SECPOL_SESSION_ID_MAX bytes (check them with secpol_policy_id_problem
 *  first); otherwise SECPOL_EINVAL and nothing is touched. Returns 0 or a
 *  store error (SECPOL_ECORRUPT when a record does not decode); on error
 *  the caller's handler must fail so that its nested transaction rolls
 *  back. Writes nothing to the log: the caller notes its write. */
int secpol_session_revoke_all (secpol_txn_t *txn, const char *workspace_id, const char *subject_id,
                               const void *except_session_hash, uint32_t *revoked)
    __attribute__ ((warn_unused_result));

/*  As secpol_session_revoke_all, but *revoked counts only the sessions
 *  that had not ended at now (all are deleted); now 0 counts them all. */
int secpol_session_revoke_all_at (secpol_txn_t *txn, const char *workspace_id,
                                  const char *subject_id, const void *except_session_hash,
                                  int64_t now, uint32_t *revoked)
    __attribute__ ((warn_unused_result));

/*  The time a session ends: the earlier non-zero of its idle deadline and
 *  absolute end; 0 when it has neither. */
int64_t secpol_session_ends_at (const Secpol__Store__V1__SessionRecord *record);

/*  True when record has ended at now (a deadline at or before now). */
bool secpol_session_ended (const Secpol__Store__V1__SessionRecord *record, int64_t now);

/*  Writes the subject prefix of the index key into key and returns its
 *  length. ids must be at most SECPOL_SESSION_ID_MAX bytes. */
size_t secpol_session_subject_prefix (uint8_t key[SECPOL_SESSION_PREFIX_MAX],
                                      const char *workspace_id, const char *subject_id);

/*  Writes the index key of record into key and returns its length (0 when
 *  an id is too long or session_id has the wrong size). */
size_t secpol_session_index_key (uint8_t key[SECPOL_SESSION_INDEX_KEY_MAX],
                                 const Secpol__Store__V1__SessionRecord *record);

/*  Loads the record stored under hash into *record_p (in arena). Returns
 *  0, SECPOL_ENOTFOUND, SECPOL_ECORRUPT or a store error. It does not
 *  check whether the session has ended. */
int secpol_session_load (secpol_txn_t *txn, secpol_arena_t *arena,
                         const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                         Secpol__Store__V1__SessionRecord **record_p)
    __attribute__ ((warn_unused_result));

/*  Stores record under hash with its index entry, and indexes both for
 *  expiry. old is the record as stored before (NULL for a new session): its
 *  expiry entries move to the new end time. created_at, session_id and the
 *  ids must not differ from old's. Returns 0, SECPOL_EINVAL or a store
 *  error. */
int secpol_session_save (secpol_txn_t *txn, secpol_arena_t *arena,
                         const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                         const Secpol__Store__V1__SessionRecord *record,
                         const Secpol__Store__V1__SessionRecord *old)
    __attribute__ ((warn_unused_result));

/*  Deletes the session stored under hash (record as loaded): record, index
 *  entry and expiry entries. Returns 0 or a store error (entries already
 *  gone are not an error). */
int secpol_session_delete (secpol_txn_t *txn, const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                           const Secpol__Store__V1__SessionRecord *record)
    __attribute__ ((warn_unused_result));

#endif
