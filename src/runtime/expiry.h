/*  expiry.h - records that expire, deleted in the background.
 *
 *  Tokens, sessions, lockout counters and OTP codes all end. A service that
 *  stores such a record also indexes it here, in the same transaction:
 *
 *      secpol_put (call->txn, &secpol_token_table, key, key_size, ...);
 *      secpol_expiry_add (call->txn, &secpol_token_table, key, key_size, expires_at);
 *
 *  and the runtime deletes the record, with its index entry, once
 *  expires_at has passed: the WRITE lane runs secpol_expiry_sweep() when it
 *  has no request waiting, a bounded batch per transaction, so the store
 *  does not grow with churn and writers are never held up for long.
 *
 *  The index is one runtime table ("expiry") ordered by expiry time: its
 *  key is big-endian u64 expires_at, u8 length of the table's name, the
 *  name, the record's key; its value is empty. A sweep reads it from the
 *  start, never scanning a service's table. A record whose expiry changes
 *  (a session's idle deadline) moves its entry with secpol_expiry_move();
 *  a record deleted early removes it with secpol_expiry_remove() (a
 *  forgotten entry costs only a delete of nothing later).
 *
 *  expires_at 0 means never: such records are not indexed.
 */
#ifndef SECPOL_EXPIRY_H_INCLUDED
#define SECPOL_EXPIRY_H_INCLUDED

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/*  The runtime's index table; the method table adds it to the store's. */
extern const secpol_table_t secpol_expiry_table;

/*  Longest record key the index takes, in bytes. */
#define SECPOL_EXPIRY_KEY_MAX 400

/*  Indexes the record under key in table to expire at expires_at (unix
 *  seconds; 0 = never, nothing indexed). Write transactions only. Returns
 *  0, SECPOL_EINVAL (key too long or table unnamed), or a store error. */
int secpol_expiry_add (secpol_txn_t *txn, const secpol_table_t *table, const void *key,
                       size_t key_size, int64_t expires_at) __attribute__ ((warn_unused_result));

/*  Removes the index entry made by secpol_expiry_add with the same
 *  arguments. Returns 0, SECPOL_ENOTFOUND, or a store error. */
int secpol_expiry_remove (secpol_txn_t *txn, const secpol_table_t *table, const void *key,
                          size_t key_size, int64_t expires_at) __attribute__ ((warn_unused_result));

/*  Moves a record's entry from old_expires_at to new_expires_at (either
 *  may be 0). Returns 0 or a store error. */
int secpol_expiry_move (secpol_txn_t *txn, const secpol_table_t *table, const void *key,
                        size_t key_size, int64_t old_expires_at, int64_t new_expires_at)
    __attribute__ ((warn_unused_result));

/*  Deletes up to budget records whose expiry is at or before now, each
 *  with its index entry, in txn (a write transaction). *deleted receives
 *  the number of index entries handled, *more whether expired entries
 *  remain. Entries naming a table this store does not know are dropped.
 *  Returns 0 or a store error. */
int secpol_expiry_sweep (secpol_txn_t *txn, int64_t now, size_t budget, size_t *deleted, bool *more)
    __attribute__ ((warn_unused_result));

#endif
