/*  token_kinds.h - the 21 kinds of link token and what sets their rules.
 *
 *  One table says, for every TokenKind: the policy setting that times it
 *  (DESIGN.md; the setting number is the field number in secpol.v1.Policy,
 *  so the lifetime is read through the descriptor and cannot name the wrong
 *  field), whether it is a view kind (usable more than once) or a
 *  single-use action kind, whether it is a password reset (its consume
 *  revokes the subject's sessions and other reset tokens), and which email
 *  of the product sends it. TokenService and docs/TOKENS.md (through
 *  secpol_token_kinds_markdown and a unit test) read it.
 *
 *  Pure functions over constant data; any thread.
 */
#ifndef SECPOL_TOKEN_KINDS_H_INCLUDED
#define SECPOL_TOKEN_KINDS_H_INCLUDED

#include "arena.h"

#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    Secpol__V1__TokenKind kind; /* the enum value */
    const char *name;           /* without the TOKEN_KIND_ prefix: "PASSWORD_RESET" */
    unsigned setting;           /* DESIGN.md setting (= Policy field number) timing it */
    bool view;                  /* view kind: usable until expiry or max_uses times */
    bool password_reset;        /* consume revokes sessions and the other reset tokens */
    const char *email;          /* the email that carries it, for docs/TOKENS.md */
} secpol_token_kind_t;

/*  The row of kind, or NULL when kind is TOKEN_KIND_UNSPECIFIED or not a
 *  kind of this build (protobuf-c keeps unknown enum numbers as they are). */
const secpol_token_kind_t *secpol_token_kind (int kind);

/*  Rows in the table (21), and row i of them, in enum order. */
size_t secpol_token_kind_count (void);
const secpol_token_kind_t *secpol_token_kind_at (size_t i);

/*  The name of the policy field that times row (the field whose number is
 *  row->setting: "email_verification_link_ttl_minutes"). */
const char *secpol_token_kind_ttl_field (const secpol_token_kind_t *row);

/*  The lifetime of row's tokens in policy, in minutes; 0 = they never
 *  expire (only settings 5 and 7 may be 0, which the policy discourages). */
uint32_t secpol_token_kind_ttl_minutes (const secpol_token_kind_t *row,
                                        const Secpol__V1__Policy *policy);

/*  The table as the Markdown rows of docs/TOKENS.md, in arena. The docs
 *  test compares it with the file. */
char *secpol_token_kinds_markdown (secpol_arena_t *arena);

#endif
