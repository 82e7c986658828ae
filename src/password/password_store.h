/*  password_store.h - how PasswordService keeps what it knows of a subject.
 *
 *  Table secpol_password_account_table ("password_account") holds one
 *  secpol.store.v1.PasswordAccount per subject under the key
 *      u8 len(workspace_id) workspace_id subject_id
 *  (the length prefix keeps keys unambiguous whatever bytes the ids hold).
 *  The record holds argon2id hashes of the subject's last passwords (never
 *  a password), the time and policy generation of the last change, and the
 *  last stored activity.
 */
#ifndef SECPOL_PASSWORD_STORE_H_INCLUDED
#define SECPOL_PASSWORD_STORE_H_INCLUDED

#include "arena.h"
#include "policy.h"
#include "store.h"

#include "secpol/store/v1/password_account.pb-c.h"

#include <stddef.h>
#include <stdint.h>

extern const secpol_table_t secpol_password_account_table; /* one record per subject */

#define SECPOL_PASSWORD_KEY_MAX (1 + 2 * SECPOL_POLICY_ID_MAX)

/*  Writes the key of a subject into key and returns its length. ids must
 *  have passed secpol_policy_id_problem(). */
size_t secpol_password_key (uint8_t key[SECPOL_PASSWORD_KEY_MAX], const char *workspace_id,
                            const char *subject_id);

/*  Loads the record of a subject into *account_p (in arena). A subject with
 *  no record gets an empty one (every field 0), so that answers never tell
 *  whether a subject exists. Returns 0, or a store error (SECPOL_ECORRUPT
 *  when the record does not decode). */
int secpol_password_account_load (secpol_txn_t *txn, secpol_arena_t *arena,
                                  const char *workspace_id, const char *subject_id,
                                  Secpol__Store__V1__PasswordAccount **account_p)
    __attribute__ ((warn_unused_result));

/*  Stores account as the record of a subject (write transactions only).
 *  Returns 0 or a store error. */
int secpol_password_account_save (secpol_txn_t *txn, secpol_arena_t *arena,
                                  const char *workspace_id, const char *subject_id,
                                  const Secpol__Store__V1__PasswordAccount *account)
    __attribute__ ((warn_unused_result));

#endif
