/*  token_kinds.c - the kinds of link token; see token_kinds.h. */
#include "token_kinds.h"

#include <stdlib.h>

#define KIND(name, setting, view, reset, email)                                                    \
    {                                                                                              \
        SECPOL__V1__TOKEN_KIND__TOKEN_KIND_##name, #name, setting, view, reset, email              \
    }

/*  In enum order: row i is kind i + 1. */
static const secpol_token_kind_t s_kinds[] = {
    KIND (WORKSPACE_INVITATION, 5, false, false, "an invitation to join the workspace"),
    KIND (ACCOUNT_VERIFICATION, 5, false, false,
          "verify the email address of a new account (sign-up)"),
    KIND (COMPLETE_REGISTRATION, 5, false, false,
          "finish registering an account an administrator or an import created"),
    KIND (TWO_STEP_LINK, 5, false, false, "the second step of an email two-step sign-in"),
    KIND (LOCKED_MEMBER_VERIFICATION, 5, false, false,
          "unlock an account that failed sign-ins locked, by proving the mailbox"),
    KIND (PASSWORD_RESET, 5, false, true, "\"forgot password\": a reset the user asked for"),
    KIND (PASSWORDLESS_AUTH, 6, false, false, "sign in without a password (a magic link)"),
    KIND (ADMIN_PASSWORD_RESET, 7, false, true,
          "a password reset an administrator started for the user"),
    KIND (EMAIL_CLAIM, 9, false, false,
          "confirm a new email address for an existing account (bound_to: the address)"),
    KIND (RANK_ASSESSMENT, 10, false, false, "open a rank assessment"),
    KIND (RANK_REVIEWSCALE, 11, false, false, "open a rank review-scale form"),
    KIND (RESOURCE_DOWNLOAD, 12, true, false, "download a resource (bound_to: the resource)"),
    KIND (MEMBER_APPROVE, 13, false, false,
          "approve a pending member (subject: the pending member)"),
    KIND (MEMBER_REJECT, 14, false, false, "reject a pending member (subject: the pending member)"),
    KIND (MEMBER_PROFILE, 15, true, false, "view a member's profile (bound_to: the profile)"),
    KIND (IDEA_VIEW, 16, true, false, "view an idea (bound_to: the idea)"),
    KIND (IDEA_APPROVE, 17, false, false, "approve a submitted idea (subject: the idea)"),
    KIND (IDEA_REJECT, 18, false, false, "reject a submitted idea (subject: the idea)"),
    KIND (IDEA_PENDING_AUTH, 19, false, false,
          "confirm an idea submitted while signed out (subject: the pending idea)"),
    KIND (CONVERSATION_VIEW, 20, true, false, "view a conversation (bound_to: the conversation)"),
    KIND (IDENTITY_VERIFICATION, 21, false, false,
          "verify the user's identity before a sensitive change"),
};
#define KIND_COUNT (sizeof s_kinds / sizeof s_kinds[0])

const secpol_token_kind_t *
secpol_token_kind (int kind)
{
    if (kind < 1 || (size_t)kind > KIND_COUNT)
        return NULL;
    return &s_kinds[kind - 1];
}

size_t
secpol_token_kind_count (void)
{
    return KIND_COUNT;
}

const secpol_token_kind_t *
secpol_token_kind_at (size_t i)
{
    return i < KIND_COUNT ? &s_kinds[i] : NULL;
}

/*  The uint32 Policy field numbered row->setting. The unit test checks
 *  that every row names one; a build where it does not is broken. */
static const ProtobufCFieldDescriptor *
s_ttl_field (const secpol_token_kind_t *row)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field (&secpol__v1__policy__descriptor, row->setting);
    if (!field || field->type != PROTOBUF_C_TYPE_UINT32 ||
        field->label == PROTOBUF_C_LABEL_REPEATED)
        abort ();
    return field;
}

const char *
secpol_token_kind_ttl_field (const secpol_token_kind_t *row)
{
    return s_ttl_field (row)->name;
}

uint32_t
secpol_token_kind_ttl_minutes (const secpol_token_kind_t *row, const Secpol__V1__Policy *policy)
{
    return *(const uint32_t *)((const char *)policy + s_ttl_field (row)->offset);
}

char *
secpol_token_kinds_markdown (secpol_arena_t *arena)
{
    char *text = secpol_arena_strdup (arena, "| kind | email | lifetime (setting) | uses |\n"
                                             "|------|-------|--------------------|------|\n");
    for (size_t i = 0; i < KIND_COUNT; i++) {
        const secpol_token_kind_t *row = &s_kinds[i];
        text =
            secpol_arena_printf (arena, "%s| `%s` | %s | `%s` (#%u) | %s |\n", text, row->name,
                                 row->email, secpol_token_kind_ttl_field (row), row->setting,
                                 row->view             ? "until expiry, or `max_uses`"
                                 : row->password_reset ? "once; revokes sessions and other resets"
                                                       : "once");
    }
    return text;
}
