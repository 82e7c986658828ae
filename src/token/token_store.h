/*  token_store.h - how TokenService keeps link tokens.
 *
 *  Table secpol_token_table ("token") holds one packed
 *  secpol.store.v1.TokenRecord per token under the keyed hash of the token
 *  (SECPOL_SECRET_TOKEN_HASH bytes, secret_token.h, context "tokenmac"):
 *  the store never holds a usable token, and a lookup is one get by hash.
 *
 *  Table secpol_token_subject_table ("token_subject") indexes every token
 *  by its subject and kind under the key
 *      u8 len(workspace_id) workspace_id u8 len(subject_id) subject_id
 *      u8 kind  hash
 *  with the token's expires_at (big-endian u64, 0 = never) as value. A
 *  subject's tokens are therefore contiguous, those of one kind too, and
 *  "every token of this subject (and kind)" is one prefix scan: at most one
 *  entry per single-use kind and SECPOL_TOKEN_PER_KIND_MAX per view kind
 *  (IssueToken keeps it so), plus expired ones the sweep has not reached.
 *  The index value lets a revoke delete every entry without decoding a
 *  record.
 *
 *  A token that is revoked or used up is deleted at once (record, index
 *  entry and both expiry entries): a stored token is always usable unless
 *  it has expired. An expiring token's two entries are indexed in the
 *  expiry table (expiry.h) SECPOL_TOKEN_EXPIRED_KEPT seconds after it
 *  expires, so that for that long it can still answer "expired" (the
 *  product shows "request a new link"), and the sweep then deletes both.
 *  The sweep may take them in different batches: an index entry whose
 *  record is gone is harmless (counted as expired, deleted by the next
 *  revoke that meets it).
 *
 *  Threads: read functions in any transaction; write functions only in a
 *  write transaction (the WRITE lane).
 */
#ifndef SECPOL_TOKEN_STORE_H_INCLUDED
#define SECPOL_TOKEN_STORE_H_INCLUDED

#include "arena.h"
#include "secret_token.h"
#include "store.h"

#include "secpol/store/v1/token_record.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  The tables TokenService owns. */
extern const secpol_table_t secpol_token_table;         /* record by token hash */
extern const secpol_table_t secpol_token_subject_table; /* index by workspace, subject, kind */

#define SECPOL_TOKEN_PREFIX         "spl_"     /* secret_token.h prefix of link tokens */
#define SECPOL_TOKEN_HASH_CONTEXT   "tokenmac" /* secpol_secret_token_hash context */
#define SECPOL_TOKEN_ID_MAX         128   /* bytes of a workspace_id, community_id, subject_id */
#define SECPOL_TOKEN_BOUND_TO_MAX   512   /* bytes of bound_to */
#define SECPOL_TOKEN_MAX_USES_MAX   10000 /* largest max_uses of a view token */
#define SECPOL_TOKEN_PER_KIND_MAX   1000  /* live tokens of one view kind per subject */
#define SECPOL_TOKEN_EXPIRED_KEPT   86400 /* seconds an expired token still says so */
#define SECPOL_TOKEN_PREFIX_KEY_MAX (3 + 2 * SECPOL_TOKEN_ID_MAX)
#define SECPOL_TOKEN_INDEX_KEY_MAX  (SECPOL_TOKEN_PREFIX_KEY_MAX + SECPOL_SECRET_TOKEN_HASH)

/*  True when a token expiring at expires_at (0 = never) has expired at now. */
bool secpol_token_expired (int64_t expires_at, int64_t now);

/*  When the sweep deletes a token that expires at expires_at: 0 (never)
 *  for 0, else SECPOL_TOKEN_EXPIRED_KEPT seconds later. */
int64_t secpol_token_sweep_at (int64_t expires_at);

/*  Writes the index prefix of workspace_id and subject_id, and of kind
 *  when it is not 0, into key and returns its length. ids must be at most
 *  SECPOL_TOKEN_ID_MAX bytes (checked by the handlers); kind 1 to 255. */
size_t secpol_token_subject_prefix (uint8_t key[SECPOL_TOKEN_PREFIX_KEY_MAX],
                                    const char *workspace_id, const char *subject_id, int kind);

/*  Loads the record stored under hash into *record_p (in arena). Returns
 *  0, SECPOL_ENOTFOUND, SECPOL_ECORRUPT (it does not decode, or an id in
 *  it is too long) or a store error. It does not check expiry or kind. */
int secpol_token_load (secpol_txn_t *txn, secpol_arena_t *arena,
                       const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                       Secpol__Store__V1__TokenRecord **record_p)
    __attribute__ ((warn_unused_result));

/*  Stores record under hash. A new token (is_new) also gets its index
 *  entry and both expiry entries; a stored one only has its record
 *  replaced (its ids, kind and expiry must not change). Returns 0,
 *  SECPOL_EINVAL (an id too long) or a store error. */
int secpol_token_save (secpol_txn_t *txn, secpol_arena_t *arena,
                       const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                       const Secpol__Store__V1__TokenRecord *record, bool is_new)
    __attribute__ ((warn_unused_result));

/*  Deletes the token stored under hash (record as loaded): record, index
 *  entry and both expiry entries. Entries already gone are no error.
 *  Returns 0, SECPOL_EINVAL or a store error. */
int secpol_token_delete (secpol_txn_t *txn, const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                         const Secpol__Store__V1__TokenRecord *record)
    __attribute__ ((warn_unused_result));

/*  Deletes every token of subject_id in workspace_id, of kind or (kind 0)
 *  of every kind, except the one under except_hash (NULL = none kept): one
 *  prefix scan of the index. *revoked (may be NULL) receives how many of
 *  them had not expired at now. ids as for secpol_token_subject_prefix.
 *  Returns 0 or a store error. */
int secpol_token_revoke (secpol_txn_t *txn, const char *workspace_id, const char *subject_id,
                         int kind, int64_t now, const uint8_t *except_hash, uint32_t *revoked)
    __attribute__ ((warn_unused_result));

/*  Makes room for one more token of kind for subject_id in workspace_id:
 *  when the subject already holds max of them (expired ones the sweep has
 *  not reached included), deletes the one that expires first (an expired
 *  one, if any). *revoked receives 1 when that one had not expired at now,
 *  else 0. One prefix scan of at most max (+ a few) entries. Returns 0 or
 *  a store error. */
int secpol_token_make_room (secpol_txn_t *txn, const char *workspace_id, const char *subject_id,
                            int kind, int64_t now, uint32_t max, uint32_t *revoked)
    __attribute__ ((warn_unused_result));

#endif
