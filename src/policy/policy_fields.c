/*  policy_fields.c - the table of policy settings; see policy_fields.h.
 *
 *  The defaults below are the ones docs/POLICY.md cites: NIST SP 800-63B,
 *  OWASP ASVS 4.0.3 and the OWASP HTTP Headers cheat sheet. Change a
 *  default, range or text here and run the docs test (it prints the new
 *  table rows when docs/POLICY.md no longer matches).
 */
#include "policy_fields.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*  Enforcers. */
#define BY_PASSWORD "password service"
#define BY_SESSION  "session service"
#define BY_TOKEN    "token service"
#define BY_LOCKOUT  "lockout service"
#define BY_OTP      "otp service"
#define BY_CALLER   "served to the caller"
#define BY_HEADERS  SECPOL_POLICY_BY_HEADERS
#define BY_UPLOAD   "CheckFileUpload"

#define YEAR_MINUTES 525600u /* 365 days */
#define WEEK_MINUTES 10080u
#define DAY_MINUTES  1440u

#define HEADER_MAX 4096u /* bytes; most servers cap one header line at 8 KiB */
#define CSP_MAX                                                                                    \
    6144u /* CSPs with many hashes run longer; all headers together are capped                     \
             at SECPOL_POLICY_HEADERS_BYTES_MAX (policy_headers.h) */

static const char *s_check_header_text (secpol_arena_t *arena, const char *value);
static const char *s_check_referrer (secpol_arena_t *arena, const char *value);
static const char *s_check_coep (secpol_arena_t *arena, const char *value);
static const char *s_check_coop (secpol_arena_t *arena, const char *value);
static const char *s_check_corp (secpol_arena_t *arena, const char *value);
static const char *s_check_measurement_id (secpol_arena_t *arena, const char *value);
static const char *s_check_banner (secpol_arena_t *arena, const char *value);
static const char *s_check_extension (secpol_arena_t *arena, const char *value);

/*  A link lifetime: minutes, 1..max (a link must expire). */
#define LINK_TTL(number, name, words, def, most)                                                   \
    {                                                                                              \
        .path = name, .setting = number, .title = words, .unit = "minutes", .default_text = def,   \
        .min = 1, .max = most, .enforcer = BY_TOKEN                                                \
    }

/*  A link lifetime the seed allows to be 0 = never expires (settings #5
 *  and #7): accepted, documented as discouraged. */
#define LINK_TTL_OR_NEVER(number, name, words, def, most)                                          \
    {                                                                                              \
        .path = name, .setting = number, .title = words, .unit = "minutes", .default_text = def,   \
        .min = 0, .max = most, .zero = "links never expire (discouraged)", .enforcer = BY_TOKEN    \
    }

/*  A lockout group's three leaves. */
#define LOCKOUT(number, name, words, failures, window, lock)                                       \
    {.path = name ".max_failures",                                                                 \
     .setting = number,                                                                            \
     .title = words ": failures before a lock",                                                    \
     .unit = "failures",                                                                           \
     .default_text = failures,                                                                     \
     .min = 0,                                                                                     \
     .max = 100,                                                                                   \
     .zero = "no lockout",                                                                         \
     .enforcer = BY_LOCKOUT},                                                                      \
        {.path = name ".window_minutes",                                                           \
         .setting = number + 1,                                                                    \
         .title = words ": window in which failures count",                                        \
         .unit = "minutes",                                                                        \
         .default_text = window,                                                                   \
         .min = 0,                                                                                 \
         .max = WEEK_MINUTES,                                                                      \
         .zero = "failures are never forgotten (until a success)",                                 \
         .enforcer = BY_LOCKOUT},                                                                  \
    {                                                                                              \
        .path = name ".lock_minutes", .setting = number + 2, .title = words ": lock duration",     \
        .unit = "minutes", .default_text = lock, .min = 0, .max = WEEK_MINUTES,                    \
        .zero = "locked until an admin unlocks", .enforcer = BY_LOCKOUT                            \
    }

#define FLAG(number, name, words, def, by)                                                         \
    {                                                                                              \
        .path = name, .setting = number, .title = words, .unit = "", .default_text = def,          \
        .enforcer = by                                                                             \
    }

static const secpol_policy_field_t s_fields[] = {
    {.path = "password_policy",
     .setting = 1,
     .title = "Password rules level",
     .unit = "level",
     .default_text = "PASSWORD_POLICY_LEVEL_MEDIUM",
     .enforcer = BY_PASSWORD},
    FLAG (2, "allow_concurrent_login", "Allow several sessions per user at once", "true",
          BY_SESSION),
    FLAG (3, "remember_me_enabled", "Offer \"remember me\" (long-lived sessions)", "false",
          BY_SESSION),
    {.path = "session_timeout_minutes",
     .setting = 4,
     .title = "Idle session timeout",
     .unit = "minutes",
     .default_text = "30",
     .min = 0,
     .max = 30 * DAY_MINUTES,
     .zero = "no idle limit: a session lasts until revoked (discouraged)",
     .enforcer = BY_SESSION},
    LINK_TTL_OR_NEVER (5, "email_verification_link_ttl_minutes",
                       "Lifetime of verification, invitation, registration, two-step, "
                       "locked-member and self-service password reset links",
                       "1440", WEEK_MINUTES),
    LINK_TTL (6, "passwordless_auth_ttl_minutes", "Lifetime of passwordless sign-in links", "15",
              DAY_MINUTES),
    LINK_TTL_OR_NEVER (7, "password_reset_link_ttl_minutes",
                       "Lifetime of admin-initiated password reset links", "60", DAY_MINUTES),
    {.path = "password_reuse_limit",
     .setting = 8,
     .title = "Number of previous passwords that may not be reused",
     .unit = "passwords",
     .default_text = "0",
     .min = 0,
     .max = 24,
     .zero = "any previous password may be reused",
     .enforcer = BY_PASSWORD},
    LINK_TTL (9, "email_claim_link_ttl_minutes", "Lifetime of email claim links", "60",
              DAY_MINUTES),
    LINK_TTL (10, "rank_assessment_link_ttl_minutes", "Lifetime of rank assessment links", "10080",
              YEAR_MINUTES),
    LINK_TTL (11, "rank_reviewscale_link_ttl_minutes", "Lifetime of rank review-scale links",
              "10080", YEAR_MINUTES),
    LINK_TTL (12, "resource_download_link_ttl_minutes", "Lifetime of resource download links",
              "1440", YEAR_MINUTES),
    LINK_TTL (13, "member_approve_link_ttl_minutes", "Lifetime of member approval links", "10080",
              YEAR_MINUTES),
    LINK_TTL (14, "member_reject_link_ttl_minutes", "Lifetime of member rejection links", "10080",
              YEAR_MINUTES),
    LINK_TTL (15, "member_profile_link_ttl_minutes", "Lifetime of member profile links", "10080",
              YEAR_MINUTES),
    LINK_TTL (16, "idea_view_link_ttl_minutes", "Lifetime of idea view links", "10080",
              YEAR_MINUTES),
    LINK_TTL (17, "idea_approve_link_ttl_minutes", "Lifetime of idea approval links", "10080",
              YEAR_MINUTES),
    LINK_TTL (18, "idea_reject_link_ttl_minutes", "Lifetime of idea rejection links", "10080",
              YEAR_MINUTES),
    LINK_TTL (19, "idea_pending_auth_link_ttl_minutes",
              "Lifetime of links that authenticate a pending idea", "1440", WEEK_MINUTES),
    LINK_TTL (20, "conversation_view_link_ttl_minutes", "Lifetime of conversation view links",
              "10080", YEAR_MINUTES),
    LINK_TTL (21, "identity_verification_link_ttl_minutes",
              "Lifetime of identity verification links", "60", DAY_MINUTES),
    LOCKOUT (22, "login_lockout", "Sign-in lockout", "5", "15", "15"),
    {.path = "locked_login_prompt_seconds",
     .setting = 25,
     .title = "Wait shown to a locked-out user on the sign-in page (LockoutStatus.prompt_seconds)",
     .unit = "seconds",
     .default_text = "30",
     .min = 0,
     .max = 3600,
     .zero = "no wait prompt",
     .enforcer = BY_LOCKOUT},
    LOCKOUT (26, "claim_lockout", "Email claim lockout", "5", "60", "60"),
    LOCKOUT (29, "two_factor_lockout", "Two-factor lockout", "5", "15", "15"),
    {.path = "max_inactive_days",
     .setting = 32,
     .title = "Days without activity after which an account is inactive",
     .unit = "days",
     .default_text = "0",
     .min = 0,
     .max = 3650,
     .zero = "accounts never become inactive",
     .enforcer = BY_PASSWORD},
    {.path = "force_password_reset",
     .setting = 33,
     .title = "Forced password reset generation (raise to force a reset)",
     .unit = "generation",
     .default_text = "0",
     .min = 0,
     .max = UINT64_MAX,
     .allowed = "0 or more; never lower than the current value",
     .zero = "no reset has ever been forced",
     .enforcer = BY_PASSWORD,
     .merge = SECPOL_POLICY_MERGE_MAX},
    {.path = "password_change_interval_days",
     .setting = 34,
     .title = "Least days between two password changes of one user",
     .unit = "days",
     .default_text = "0",
     .min = 0,
     .max = 365,
     .zero = "no waiting between changes",
     .enforcer = BY_PASSWORD},
    FLAG (35, "email_two_step_enabled", "Offer email one-time codes as a second step", "false",
          BY_OTP),
    {.path = "email_otp_ttl_seconds",
     .setting = 36,
     .title = "Lifetime of email one-time codes",
     .unit = "seconds",
     .default_text = "300",
     .min = 30,
     .max = 600,
     .enforcer = BY_OTP},
    FLAG (37, "authenticator_app_enabled", "Offer authenticator apps (TOTP) as a second factor",
          "true", BY_OTP),
    FLAG (38, "auto_login_by_email_token", "Sign the user in when an emailed link is used", "false",
          BY_CALLER),
    FLAG (39, "gravatar_enabled", "Show Gravatar pictures", "false", BY_CALLER),
    {.path = "auth_page_banner_enabled",
     .setting = 40,
     .title = "Show a banner on the sign-in pages",
     .unit = "",
     .default_text = "false",
     .enforcer = BY_CALLER,
     .group = "auth_page_banner"},
    {.path = "auth_page_banner_text",
     .setting = 40,
     .title = "Text of the sign-in page banner",
     .unit = "",
     .default_text = "",
     .max = 2000,
     .allowed = "plain UTF-8 text, line breaks allowed, no other control characters; required "
                "when the banner is enabled",
     .zero = "no text",
     .enforcer = BY_CALLER,
     .group = "auth_page_banner",
     .check = s_check_banner},
    FLAG (41, "captcha_enabled", "Ask for a CAPTCHA on the sign-in pages", "false", BY_CALLER),
    {.path = "hsts.enabled",
     .setting = 42,
     .title = "Send Strict-Transport-Security",
     .unit = "",
     .default_text = "true",
     .enforcer = BY_HEADERS,
     .group = "hsts"},
    {.path = "hsts.max_age_days",
     .setting = 42,
     .title = "HSTS max-age",
     .unit = "days",
     .default_text = "365",
     .min = 0,
     .max = 730,
     .zero = "max-age=0: browsers forget the HSTS entry",
     .enforcer = BY_HEADERS,
     .group = "hsts"},
    {.path = "hsts.include_subdomains",
     .setting = 42,
     .title = "HSTS includeSubDomains",
     .unit = "",
     .default_text = "true",
     .enforcer = BY_HEADERS,
     .group = "hsts"},
    {.path = "hsts.preload",
     .setting = 42,
     .title = "HSTS preload",
     .unit = "",
     .default_text = "false",
     .allowed = "true, false; true needs enabled, include_subdomains and max_age_days >= 365",
     .enforcer = BY_HEADERS,
     .group = "hsts"},
    FLAG (43, "xss_protection_enabled", "X-XSS-Protection: 1; mode=block (else 0)", "false",
          BY_HEADERS),
    FLAG (44, "content_type_options_enabled", "Send X-Content-Type-Options: nosniff", "true",
          BY_HEADERS),
    {.path = "referrer_policy",
     .setting = 45,
     .title = "Referrer-Policy",
     .unit = "",
     .default_text = "strict-origin-when-cross-origin",
     .max = 256,
     .allowed = "a comma-separated list of: no-referrer, no-referrer-when-downgrade, origin, "
                "origin-when-cross-origin, same-origin, strict-origin, "
                "strict-origin-when-cross-origin, unsafe-url",
     .zero = "header not sent",
     .enforcer = BY_HEADERS,
     .check = s_check_referrer},
    {.path = "content_security_policy",
     .setting = 46,
     .title = "Content-Security-Policy",
     .unit = "",
     .default_text = "default-src 'self'; object-src 'none'; base-uri 'self'; "
                     "frame-ancestors 'self'",
     .max = CSP_MAX,
     .allowed = "printable ASCII text",
     .zero = "header not sent",
     .enforcer = BY_HEADERS,
     .check = s_check_header_text},
    {.path = "public_key_pins",
     .setting = 47,
     .title = "Public-Key-Pins (deprecated)",
     .unit = "",
     .default_text = "",
     .max = HEADER_MAX,
     .allowed = "printable ASCII text",
     .zero = "header not sent",
     .enforcer = BY_HEADERS,
     .check = s_check_header_text},
    {.path = "google_analytics.enabled",
     .setting = 48,
     .title = "Use Google Analytics",
     .unit = "",
     .default_text = "false",
     .enforcer = BY_CALLER,
     .group = "google_analytics"},
    {.path = "google_analytics.measurement_id",
     .setting = 48,
     .title = "Google Analytics measurement id",
     .unit = "",
     .default_text = "",
     .max = 32,
     .allowed = "G-XXXXXXXX (4-16 upper-case letters or digits) or UA-1234-1; required when "
                "enabled",
     .zero = "none",
     .enforcer = BY_CALLER,
     .group = "google_analytics",
     .check = s_check_measurement_id},
    {.path = "permissions_policy",
     .setting = 49,
     .title = "Permissions-Policy",
     .unit = "",
     .default_text = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
                     "magnetometer=(), microphone=(), payment=(), usb=()",
     .max = HEADER_MAX,
     .allowed = "printable ASCII text",
     .zero = "header not sent",
     .enforcer = BY_HEADERS,
     .check = s_check_header_text},
    {.path = "cross_origin_embedder_policy",
     .setting = 50,
     .title = "Cross-Origin-Embedder-Policy",
     .unit = "",
     .default_text = "",
     .max = 64,
     .allowed = "unsafe-none, require-corp, credentialless",
     .zero = "header not sent",
     .enforcer = BY_HEADERS,
     .check = s_check_coep},
    {.path = "cross_origin_opener_policy",
     .setting = 51,
     .title = "Cross-Origin-Opener-Policy",
     .unit = "",
     .default_text = "same-origin",
     .max = 64,
     .allowed = "unsafe-none, same-origin-allow-popups, same-origin, noopener-allow-popups",
     .zero = "header not sent",
     .enforcer = BY_HEADERS,
     .check = s_check_coop},
    {.path = "cross_origin_resource_policy",
     .setting = 52,
     .title = "Cross-Origin-Resource-Policy",
     .unit = "",
     .default_text = "same-origin",
     .max = 64,
     .allowed = "same-site, same-origin, cross-origin",
     .zero = "header not sent",
     .enforcer = BY_HEADERS,
     .check = s_check_corp},
    {.path = "expect_ct",
     .setting = 53,
     .title = "Expect-CT (deprecated)",
     .unit = "",
     .default_text = "",
     .max = HEADER_MAX,
     .allowed = "printable ASCII text",
     .zero = "header not sent",
     .enforcer = BY_HEADERS,
     .check = s_check_header_text},
    {.path = "allowed_file_extensions",
     .setting = 54,
     .title = "File extensions users may upload",
     .unit = "extensions",
     .default_text = "pdf,txt,csv,rtf,doc,docx,xls,xlsx,ppt,pptx,odt,ods,odp,png,jpg,jpeg,gif,"
                     "webp,heic",
     .max = 200,
     .allowed = "up to 200 distinct extensions, each 1-16 lower-case letters or digits, no dot",
     .zero = "every upload is refused",
     .enforcer = BY_UPLOAD,
     .check = s_check_extension},
};

#define FIELD_COUNT (sizeof s_fields / sizeof s_fields[0])
_Static_assert(FIELD_COUNT <= 64, "a secpol_policy_mask_t holds at most 64 leaves");

/*  The resolved descriptors of each leaf. */
typedef struct {
    const ProtobufCFieldDescriptor *outer; /* field of Policy */
    const ProtobufCFieldDescriptor *inner; /* field of the sub-message; NULL for a top leaf */
    char message[64];                      /* "login_lockout" for a nested leaf; "" for a top one */
} leaf_t;

static leaf_t s_leaves[FIELD_COUNT];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

/*  Stands in for an unset sub-message: every field reads as zero / NULL. */
static const union {
    char bytes[256];
    max_align_t align;
} s_zero_message;

static void s_resolve (void);
static const void *s_member (const Secpol__V1__Policy *policy, size_t i,
                             const ProtobufCFieldDescriptor **fd_p);
static void *s_member_mut (secpol_arena_t *arena, Secpol__V1__Policy *policy, size_t i,
                           const ProtobufCFieldDescriptor **fd_p);
static uint64_t s_number (const ProtobufCFieldDescriptor *fd, const void *member);
static uint64_t s_number_of (const Secpol__V1__Policy *policy, size_t i);
static void s_set_number (const ProtobufCFieldDescriptor *fd, void *member, uint64_t value);
static size_t s_list (const ProtobufCFieldDescriptor *fd, const void *member,
                      char *const **items_p);
static const char *s_string (const void *member);
static bool s_is_list (const ProtobufCFieldDescriptor *fd);
static bool s_next_item (const char **p, const char **item, size_t *length);
static const char *s_enum_short (const ProtobufCEnumDescriptor *enum_descriptor, int value);
static const char *s_enum_listing (secpol_arena_t *arena, const ProtobufCEnumDescriptor *ed);

size_t
secpol_policy_field_count (void)
{
    return FIELD_COUNT;
}

const secpol_policy_field_t *
secpol_policy_field (size_t i)
{
    assert (i < FIELD_COUNT);
    return &s_fields[i];
}

int
secpol_policy_field_index (const char *path)
{
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (strcmp (s_fields[i].path, path) == 0)
            return (int)i;
    return -1;
}

const ProtobufCFieldDescriptor *
secpol_policy_field_descriptor (size_t i)
{
    pthread_once (&s_once, s_resolve);
    assert (i < FIELD_COUNT);
    return s_leaves[i].inner ? s_leaves[i].inner : s_leaves[i].outer;
}

secpol_policy_mask_t
secpol_policy_mask_all (void)
{
    return FIELD_COUNT == 64 ? UINT64_MAX : (UINT64_C (1) << FIELD_COUNT) - 1;
}

int
secpol_policy_mask_add (secpol_policy_mask_t *mask, const char *path)
{
    if (strcmp (path, "*") == 0) {
        *mask |= secpol_policy_mask_all ();
        return 0;
    }
    size_t length = strlen (path);
    secpol_policy_mask_t found = 0;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const char *leaf = s_fields[i].path;
        /* the leaf itself, or a message path followed by '.' */
        if (strcmp (leaf, path) == 0 ||
            (length > 0 && strncmp (leaf, path, length) == 0 && leaf[length] == '.'))
            found |= UINT64_C (1) << i;
    }
    if (!found)
        return -1;
    *mask |= found;
    return 0;
}

#define NEAREST_MAX 128 /* bytes of a path that gets a hint */

/*  Edit distance of a and b (optimal string alignment: insert, delete,
 *  replace and swap of neighbours each count 1; case ignored), both at most
 *  NEAREST_MAX bytes. */
static size_t
s_edit_distance (const char *a, size_t la, const char *b, size_t lb)
{
    size_t rows[3][NEAREST_MAX + 1];
    size_t *two = rows[0], *one = rows[1], *row = rows[2]; /* rows i-2, i-1, i */
    for (size_t j = 0; j <= lb; j++)
        one[j] = j;
    for (size_t i = 1; i <= la; i++) {
        int x = tolower ((unsigned char)a[i - 1]);
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int y = tolower ((unsigned char)b[j - 1]);
            size_t best = one[j - 1] + (x != y);
            if (one[j] + 1 < best)
                best = one[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (i > 1 && j > 1 && x == tolower ((unsigned char)b[j - 2]) &&
                tolower ((unsigned char)a[i - 2]) == y && two[j - 2] + 1 < best)
                best = two[j - 2] + 1;
            row[j] = best;
        }
        size_t *spare = two;
        two = one;
        one = row;
        row = spare;
    }
    return one[lb];
}

const char *
secpol_policy_nearest_path (const char *path, bool messages)
{
    pthread_once (&s_once, s_resolve);
    size_t length = strnlen (path, NEAREST_MAX + 1);
    if (length == 0 || length > NEAREST_MAX)
        return NULL;
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        /* the leaf, and the message it is in when it has one */
        const char *candidates[2] = {s_fields[i].path, messages ? s_leaves[i].message : ""};
        for (int k = 0; k < 2; k++) {
            size_t size = strlen (candidates[k]);
            if (size == 0)
                continue;
            size_t distance = s_edit_distance (path, length, candidates[k], size);
            size_t near = 1 + size / 5;
            if (distance <= (near < 4 ? near : 4) && distance < best_distance) {
                best = candidates[k];
                best_distance = distance;
            }
        }
    }
    if (best)
        return best;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const char *dot = strchr (s_fields[i].path, '.');
        if (dot && strcasecmp (dot + 1, path) == 0)
            return s_fields[i].path;
    }
    return NULL;
}

secpol_policy_mask_t
secpol_policy_mask_groups (secpol_policy_mask_t mask)
{
    secpol_policy_mask_t widened = mask;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        if (!(mask & (UINT64_C (1) << i)) || !s_fields[i].group)
            continue;
        for (size_t j = 0; j < FIELD_COUNT; j++)
            if (s_fields[j].group && strcmp (s_fields[j].group, s_fields[i].group) == 0)
                widened |= UINT64_C (1) << j;
    }
    return widened;
}

Secpol__V1__Policy *
secpol_policy_new (secpol_arena_t *arena)
{
    pthread_once (&s_once, s_resolve);
    Secpol__V1__Policy *policy =
        (Secpol__V1__Policy *)secpol_arena_message (arena, &secpol__v1__policy__descriptor);
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const ProtobufCFieldDescriptor *fd;
        s_member_mut (arena, policy, i, &fd); /* allocates the sub-messages */
    }
    return policy;
}

Secpol__V1__Policy *
secpol_policy_defaults (secpol_arena_t *arena)
{
    Secpol__V1__Policy *policy = secpol_policy_new (arena);
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        int rc = secpol_policy_leaf_parse (arena, policy, i, s_fields[i].default_text);
        assert (rc == 0); /* the unit tests parse and validate every default */
        (void)rc;
    }
    return policy;
}

static secpol_arena_t *s_defaults_arena;     /* lives as long as the process */
static const Secpol__V1__Policy *s_defaults; /* parsed once */
static pthread_once_t s_defaults_once = PTHREAD_ONCE_INIT;

static void
s_defaults_init (void)
{
    s_defaults_arena = secpol_arena_new ();
    if (!s_defaults_arena)
        abort ();
    s_defaults = secpol_policy_defaults (s_defaults_arena);
}

const Secpol__V1__Policy *
secpol_policy_shared_defaults (void)
{
    pthread_once (&s_defaults_once, s_defaults_init);
    return s_defaults;
}

void
secpol_policy_leaf_copy (secpol_arena_t *arena, Secpol__V1__Policy *dst,
                         const Secpol__V1__Policy *src, size_t i)
{
    const ProtobufCFieldDescriptor *fd;
    const void *from = s_member (src, i, &fd);
    void *to = s_member_mut (arena, dst, i, &fd);
    if (s_is_list (fd)) {
        char *const *items;
        size_t n = s_list (fd, from, &items);
        char **copy = n ? secpol_arena_alloc (arena, n * sizeof *copy) : NULL;
        for (size_t k = 0; k < n; k++)
            copy[k] = secpol_arena_strdup (arena, items[k]);
        *(char ***)to = copy;
        /* the count lives in the same (sub-)message, at quantifier_offset */
        *(size_t *)((char *)to - fd->offset + fd->quantifier_offset) = n;
    } else if (fd->type == PROTOBUF_C_TYPE_STRING)
        *(char **)to = secpol_arena_strdup (arena, s_string (from));
    else
        s_set_number (fd, to, s_number (fd, from));
}

bool
secpol_policy_leaf_equal (const Secpol__V1__Policy *a, const Secpol__V1__Policy *b, size_t i)
{
    const ProtobufCFieldDescriptor *fd;
    const void *x = s_member (a, i, &fd);
    const void *y = s_member (b, i, &fd);
    if (s_is_list (fd)) {
        char *const *xs, *const *ys;
        size_t n = s_list (fd, x, &xs);
        if (s_list (fd, y, &ys) != n)
            return false;
        for (size_t k = 0; k < n; k++)
            if (strcmp (xs[k] ? xs[k] : "", ys[k] ? ys[k] : "") != 0)
                return false;
        return true;
    }
    if (fd->type == PROTOBUF_C_TYPE_STRING)
        return strcmp (s_string (x), s_string (y)) == 0;
    return s_number (fd, x) == s_number (fd, y);
}

char *
secpol_policy_leaf_text (secpol_arena_t *arena, const Secpol__V1__Policy *policy, size_t i)
{
    const ProtobufCFieldDescriptor *fd;
    const void *member = s_member (policy, i, &fd);
    if (s_is_list (fd)) {
        char *const *items;
        size_t n = s_list (fd, member, &items);
        size_t size = 1;
        for (size_t k = 0; k < n; k++)
            size += strlen (items[k] ? items[k] : "") + 1;
        char *text = secpol_arena_alloc (arena, size);
        char *end = text;
        for (size_t k = 0; k < n; k++) {
            if (k)
                *end++ = ',';
            end = stpcpy (end, items[k] ? items[k] : "");
        }
        return text;
    }
    switch (fd->type) {
        case PROTOBUF_C_TYPE_STRING:
            return secpol_arena_strdup (arena, s_string (member));
        case PROTOBUF_C_TYPE_BOOL:
            return secpol_arena_strdup (arena, s_number (fd, member) ? "true" : "false");
        case PROTOBUF_C_TYPE_ENUM: {
            int value = (int)s_number (fd, member);
            const ProtobufCEnumValue *known = protobuf_c_enum_descriptor_get_value (
                (const ProtobufCEnumDescriptor *)fd->descriptor, value);
            return known ? secpol_arena_strdup (arena, known->name)
                         : secpol_arena_printf (arena, "%d", value);
        }
        default:
            return secpol_arena_printf (arena, "%" PRIu64, s_number (fd, member));
    }
}

int
secpol_policy_leaf_parse (secpol_arena_t *arena, Secpol__V1__Policy *policy, size_t i,
                          const char *text)
{
    const ProtobufCFieldDescriptor *fd;
    void *member = s_member_mut (arena, policy, i, &fd);
    if (s_is_list (fd)) {
        size_t n = 0, capacity = 0;
        char **items = NULL;
        const char *p = *text ? text : NULL, *item;
        size_t length;
        while (s_next_item (&p, &item, &length))
            if (length)
                secpol_arena_push (arena, &n, &capacity, (void ***)&items,
                                   secpol_arena_strndup (arena, item, length));
        *(char ***)member = items;
        *(size_t *)((char *)member - fd->offset + fd->quantifier_offset) = n;
        return 0;
    }
    switch (fd->type) {
        case PROTOBUF_C_TYPE_STRING:
            *(char **)member = secpol_arena_strdup (arena, text);
            return 0;
        case PROTOBUF_C_TYPE_BOOL:
            if (strcmp (text, "true") == 0)
                s_set_number (fd, member, 1);
            else if (strcmp (text, "false") == 0)
                s_set_number (fd, member, 0);
            else
                return -1;
            return 0;
        case PROTOBUF_C_TYPE_ENUM: {
            const ProtobufCEnumDescriptor *ed = fd->descriptor;
            const ProtobufCEnumValue *value =
                protobuf_c_enum_descriptor_get_value_by_name (ed, text);
            for (unsigned k = 0; !value && k < ed->n_values; k++)
                if (strcmp (s_enum_short (ed, ed->values[k].value), text) == 0)
                    value = &ed->values[k];
            if (!value)
                return -1;
            s_set_number (fd, member, (uint64_t)(int64_t)value->value);
            return 0;
        }
        default: {
            if (*text < '0' || *text > '9')
                return -1;
            char *end;
            errno = 0;
            unsigned long long value = strtoull (text, &end, 10);
            if (*end || errno)
                return -1;
            if (fd->type == PROTOBUF_C_TYPE_UINT32 && value > UINT32_MAX)
                return -1;
            s_set_number (fd, member, value);
            return 0;
        }
    }
}

/*  Checks leaf i of update; returns NULL or the description. */
static const char *
s_check_leaf (secpol_arena_t *arena, const Secpol__V1__Policy *update, size_t i)
{
    const secpol_policy_field_t *field = &s_fields[i];
    const ProtobufCFieldDescriptor *fd;
    const void *member = s_member (update, i, &fd);
    if (s_is_list (fd)) {
        char *const *items;
        size_t n = s_list (fd, member, &items);
        if (n > field->max)
            return secpol_arena_printf (arena, "has %zu entries; at most %" PRIu64 " are allowed",
                                        n, field->max);
        for (size_t k = 0; k < n; k++) {
            const char *item = items[k] ? items[k] : "";
            const char *problem = field->check ? field->check (arena, item) : NULL;
            if (problem)
                return problem;
            for (size_t m = 0; m < k; m++)
                if (strcmp (items[m] ? items[m] : "", item) == 0)
                    return secpol_arena_printf (arena, "\"%s\" is listed twice", item);
        }
        return NULL;
    }
    switch (fd->type) {
        case PROTOBUF_C_TYPE_BOOL:
            return NULL;
        case PROTOBUF_C_TYPE_ENUM: {
            int value = (int)s_number (fd, member);
            const ProtobufCEnumDescriptor *ed = fd->descriptor;
            const ProtobufCEnumValue *named = protobuf_c_enum_descriptor_get_value (ed, value);
            if (value == 0 || !named)
                return secpol_arena_printf (
                    arena, "must be one of %s (got %s)", s_enum_listing (arena, ed),
                    named ? s_enum_short (ed, value) : secpol_arena_printf (arena, "%d", value));
            return NULL;
        }
        case PROTOBUF_C_TYPE_STRING: {
            const char *value = s_string (member);
            size_t length = strlen (value);
            if (length > field->max)
                return secpol_arena_printf (arena,
                                            "is %zu bytes long; at most %" PRIu64 " are allowed",
                                            length, field->max);
            return field->check ? field->check (arena, value) : NULL;
        }
        default: {
            uint64_t value = s_number (fd, member);
            if (value < field->min || value > field->max)
                return secpol_arena_printf (
                    arena, "must be between %" PRIu64 " and %" PRIu64 " %s (got %" PRIu64 ")",
                    field->min, field->max, field->unit, value);
            return NULL;
        }
    }
}

/*  The leaf a cross-field rule reports: the first of candidates (leaf
 *  indexes, -1 ends) that the update touched. */
static int
s_rule_target (secpol_policy_mask_t mask, const int *candidates)
{
    for (int k = 0; candidates[k] >= 0; k++)
        if (mask & (UINT64_C (1) << candidates[k]))
            return candidates[k];
    return -1;
}

static bool
s_group_touched (secpol_policy_mask_t mask, const char *group)
{
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if ((mask & (UINT64_C (1) << i)) && s_fields[i].group &&
            strcmp (s_fields[i].group, group) == 0)
            return true;
    return false;
}

/*  The cross-field rules. Each is checked on the result when the update
 *  touched its group and no leaf of the group is already reported. */
static void
s_cross_rules (secpol_arena_t *arena, const Secpol__V1__Policy *result, secpol_policy_mask_t mask,
               const char **problems)
{
    if (s_group_touched (mask, "hsts") && result->hsts && result->hsts->preload) {
        const Secpol__V1__HstsSettings *hsts = result->hsts;
        const int order[] = {secpol_policy_field_index ("hsts.preload"),
                             secpol_policy_field_index ("hsts.include_subdomains"),
                             secpol_policy_field_index ("hsts.max_age_days"),
                             secpol_policy_field_index ("hsts.enabled"), -1};
        const char *problem = NULL;
        if (!hsts->enabled)
            problem = "preload needs hsts.enabled";
        else if (!hsts->include_subdomains)
            problem = "preload needs hsts.include_subdomains (hstspreload.org)";
        else if (hsts->max_age_days < 365)
            problem = "preload needs hsts.max_age_days of at least 365 (hstspreload.org)";
        int target = s_rule_target (mask, order);
        bool reported = false;
        for (int k = 0; order[k] >= 0; k++)
            reported = reported || problems[order[k]];
        if (problem && target >= 0 && !reported)
            problems[target] = problem;
    }
    if (s_group_touched (mask, "google_analytics") && result->google_analytics &&
        result->google_analytics->enabled &&
        !*s_string (&result->google_analytics->measurement_id)) {
        const int order[] = {secpol_policy_field_index ("google_analytics.measurement_id"),
                             secpol_policy_field_index ("google_analytics.enabled"), -1};
        int target = s_rule_target (mask, order);
        if (target >= 0 && !problems[order[0]] && !problems[order[1]])
            problems[target] = "Google Analytics needs a measurement_id when enabled";
    }
    if (s_group_touched (mask, "auth_page_banner") && result->auth_page_banner_enabled &&
        !*s_string (&result->auth_page_banner_text)) {
        const int order[] = {secpol_policy_field_index ("auth_page_banner_text"),
                             secpol_policy_field_index ("auth_page_banner_enabled"), -1};
        int target = s_rule_target (mask, order);
        if (target >= 0 && !problems[order[0]] && !problems[order[1]])
            problems[target] = "the banner needs a text when it is enabled";
    }
    (void)arena;
}

size_t
secpol_policy_validate (secpol_arena_t *arena, const Secpol__V1__Policy *update,
                        secpol_policy_mask_t mask, const Secpol__V1__Policy *result,
                        const Secpol__V1__Policy *current, secpol_policy_violation_t **violations_p)
{
    pthread_once (&s_once, s_resolve);
    const char *problems[FIELD_COUNT] = {0};
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        if (!(mask & (UINT64_C (1) << i)))
            continue;
        problems[i] = s_check_leaf (arena, update, i);
        if (!problems[i] && current && s_fields[i].merge == SECPOL_POLICY_MERGE_MAX) {
            const ProtobufCFieldDescriptor *fd = secpol_policy_field_descriptor (i);
            const void *now_member = s_member (current, i, &fd);
            const void *wanted_member = s_member (update, i, &fd);
            uint64_t now = s_number (fd, now_member);
            uint64_t wanted = s_number (fd, wanted_member);
            if (wanted < now)
                problems[i] = secpol_arena_printf (
                    arena,
                    "may not be lowered: it is %" PRIu64 " and a generation counter never goes "
                    "down, not even across DeletePolicy; give %" PRIu64
                    " or more (raise it to force a reset)",
                    now, now);
        }
    }
    if (result)
        s_cross_rules (arena, result, mask, problems);

    size_t count = 0;
    for (size_t i = 0; i < FIELD_COUNT; i++)
        count += problems[i] != NULL;
    *violations_p = NULL;
    if (count == 0)
        return 0;
    secpol_policy_violation_t *violations = secpol_arena_alloc (arena, count * sizeof *violations);
    size_t k = 0;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        if (!problems[i])
            continue;
        violations[k].field = secpol_arena_printf (arena, "policy.%s", s_fields[i].path);
        violations[k].description = problems[i];
        k++;
    }
    *violations_p = violations;
    return count;
}

secpol_policy_mask_t
secpol_policy_level_mask (const Secpol__Store__V1__PolicyLevel *level)
{
    secpol_policy_mask_t mask = 0;
    for (size_t k = 0; level && k < level->n_overridden; k++) {
        int i = secpol_policy_field_index (level->overridden[k]);
        if (i >= 0)
            mask |= UINT64_C (1) << i;
    }
    return mask;
}

void
secpol_policy_level_set_mask (secpol_arena_t *arena, Secpol__Store__V1__PolicyLevel *level,
                              secpol_policy_mask_t mask)
{
    level->n_overridden = 0;
    level->overridden = NULL;
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (mask & (UINT64_C (1) << i))
            secpol_arena_append (arena, &level->n_overridden, (void ***)&level->overridden,
                                 (void *)s_fields[i].path);
}

void
secpol_policy_level_apply (secpol_arena_t *arena, Secpol__V1__Policy *effective,
                           const Secpol__Store__V1__PolicyLevel *level)
{
    if (!level)
        return;
    pthread_once (&s_once, s_resolve);
    const Secpol__V1__Policy *values = level->values;
    Secpol__V1__Policy empty = SECPOL__V1__POLICY__INIT;
    if (!values)
        values = &empty;
    secpol_policy_mask_t mask = secpol_policy_level_mask (level);
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        bool overridden = mask & (UINT64_C (1) << i);
        if (s_fields[i].merge == SECPOL_POLICY_MERGE_MAX) {
            /* the largest of what is inherited, what the level sets and
             * the level's high-water mark (set even after a delete) */
            const ProtobufCFieldDescriptor *fd;
            uint64_t value = s_number_of (effective, i);
            if (overridden && s_number_of (values, i) > value)
                value = s_number_of (values, i);
            if (level->high_water && s_number_of (level->high_water, i) > value)
                value = s_number_of (level->high_water, i);
            void *member = s_member_mut (arena, effective, i, &fd);
            s_set_number (fd, member, value);
        } else if (overridden)
            secpol_policy_leaf_copy (arena, effective, values, i);
    }
}

void
secpol_policy_level_keep_high_water (secpol_arena_t *arena, Secpol__Store__V1__PolicyLevel *level,
                                     const Secpol__Store__V1__PolicyLevel *old)
{
    pthread_once (&s_once, s_resolve);
    secpol_policy_mask_t old_mask = secpol_policy_level_mask (old);
    secpol_policy_mask_t new_mask = secpol_policy_level_mask (level);
    Secpol__V1__Policy *high_water = NULL;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        if (s_fields[i].merge != SECPOL_POLICY_MERGE_MAX)
            continue;
        uint64_t value = 0;
        if (old && old->high_water)
            value = s_number_of (old->high_water, i);
        /* records written before high_water existed: what they set counts */
        if (old && old->values && (old_mask & (UINT64_C (1) << i)) &&
            s_number_of (old->values, i) > value)
            value = s_number_of (old->values, i);
        if (level->values && (new_mask & (UINT64_C (1) << i)) &&
            s_number_of (level->values, i) > value)
            value = s_number_of (level->values, i);
        if (value == 0)
            continue;
        if (!high_water)
            high_water = secpol_policy_new (arena);
        const ProtobufCFieldDescriptor *fd;
        void *member = s_member_mut (arena, high_water, i, &fd);
        s_set_number (fd, member, value);
    }
    level->high_water = high_water;
}

size_t
secpol_policy_diff (secpol_arena_t *arena, secpol_policy_mask_t old_mask,
                    const Secpol__V1__Policy *old_values, const Secpol__V1__Policy *old_effective,
                    secpol_policy_mask_t new_mask, const Secpol__V1__Policy *new_values,
                    const Secpol__V1__Policy *new_effective, Secpol__V1__FieldChange ***changes_p)
{
    size_t count = 0;
    Secpol__V1__FieldChange **changes = NULL;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        bool was_set = old_mask & (UINT64_C (1) << i);
        bool is_set = new_mask & (UINT64_C (1) << i);
        if (was_set == is_set && (!is_set || secpol_policy_leaf_equal (old_values, new_values, i)))
            continue;
        Secpol__V1__FieldChange *change = (Secpol__V1__FieldChange *)secpol_arena_message (
            arena, &secpol__v1__field_change__descriptor);
        change->field = (char *)s_fields[i].path;
        change->old_value = secpol_policy_leaf_text (arena, old_effective, i);
        change->new_value = secpol_policy_leaf_text (arena, new_effective, i);
        change->old_inherited = !was_set;
        change->new_inherited = !is_set;
        secpol_arena_append (arena, &count, (void ***)&changes, change);
    }
    *changes_p = changes;
    return count;
}

/*  Header values: printable ASCII only. CR/LF would let a value inject
 *  headers; other bytes are not meaningful in these headers. */
static const char *
s_check_header_text (secpol_arena_t *arena, const char *value)
{
    if (*value && value[strspn (value, " ")] == 0)
        return "is only spaces, which would send an empty header: give \"\" to not send it";
    for (size_t k = 0; value[k]; k++) {
        unsigned char c = (unsigned char)value[k];
        if (c < 0x20 || c == 0x7F)
            return secpol_arena_printf (arena,
                                        "contains a control character (0x%02x at byte %zu); "
                                        "header values may not contain CR, LF or other "
                                        "control characters",
                                        c, k);
        if (c >= 0x80)
            return secpol_arena_printf (arena,
                                        "contains a non-ASCII byte at byte %zu; header values "
                                        "must be printable ASCII",
                                        k);
    }
    return NULL;
}

/*  True when token (length bytes) is one of the NULL-terminated words. */
static bool
s_is_one_of (const char *token, size_t length, const char *const *words)
{
    for (size_t k = 0; words[k]; k++)
        if (strlen (words[k]) == length && memcmp (words[k], token, length) == 0)
            return true;
    return false;
}

static const char *
s_check_one_of (secpol_arena_t *arena, const char *value, const char *const *words,
                const char *listing)
{
    if (!*value || s_is_one_of (value, strlen (value), words))
        return NULL;
    return secpol_arena_printf (arena, "must be \"\" (not sent) or one of %s", listing);
}

static const char *
s_check_referrer (secpol_arena_t *arena, const char *value)
{
    static const char *const tokens[] = {"no-referrer",
                                         "no-referrer-when-downgrade",
                                         "origin",
                                         "origin-when-cross-origin",
                                         "same-origin",
                                         "strict-origin",
                                         "strict-origin-when-cross-origin",
                                         "unsafe-url",
                                         NULL};
    /* Referrer-Policy may list fallbacks: "no-referrer, strict-origin-when-cross-origin";
     * browsers use the last token they know (W3C Referrer Policy, section 4.1). */
    const char *p = *value ? value : NULL, *token;
    size_t length;
    while (s_next_item (&p, &token, &length))
        if (!s_is_one_of (token, length, tokens))
            return secpol_arena_printf (
                arena,
                "%s is not a Referrer-Policy token (no-referrer, "
                "no-referrer-when-downgrade, origin, origin-when-cross-origin, same-origin, "
                "strict-origin, strict-origin-when-cross-origin, unsafe-url)",
                secpol_policy_quote (arena, secpol_arena_strndup (arena, token, length), 64));
    return NULL;
}

static const char *
s_check_coep (secpol_arena_t *arena, const char *value)
{
    static const char *const words[] = {"unsafe-none", "require-corp", "credentialless", NULL};
    return s_check_one_of (arena, value, words, "unsafe-none, require-corp, credentialless");
}

static const char *
s_check_coop (secpol_arena_t *arena, const char *value)
{
    static const char *const words[] = {"unsafe-none", "same-origin-allow-popups", "same-origin",
                                        "noopener-allow-popups", NULL};
    return s_check_one_of (arena, value, words,
                           "unsafe-none, same-origin-allow-popups, same-origin, "
                           "noopener-allow-popups");
}

static const char *
s_check_corp (secpol_arena_t *arena, const char *value)
{
    static const char *const words[] = {"same-site", "same-origin", "cross-origin", NULL};
    return s_check_one_of (arena, value, words, "same-site, same-origin, cross-origin");
}

/*  Counts the characters of s that are in the class: 'D' digits, 'U'
 *  upper-case letters or digits. */
static size_t
s_span (const char *s, char class)
{
    size_t n = 0;
    while ((s[n] >= '0' && s[n] <= '9') || (class == 'U' && s[n] >= 'A' && s[n] <= 'Z'))
        n++;
    return n;
}

static const char *
s_check_measurement_id (secpol_arena_t *arena, const char *value)
{
    (void)arena;
    if (!*value)
        return NULL;
    if (strncmp (value, "G-", 2) == 0) {
        size_t n = s_span (value + 2, 'U');
        if (n >= 4 && n <= 16 && value[2 + n] == 0)
            return NULL;
    } else if (strncmp (value, "UA-", 3) == 0) {
        size_t account = s_span (value + 3, 'D');
        if (account >= 1 && account <= 12 && value[3 + account] == '-') {
            size_t property = s_span (value + 4 + account, 'D');
            if (property >= 1 && property <= 4 && value[4 + account + property] == 0)
                return NULL;
        }
    }
    return "must be a GA4 measurement id (G- and 4 to 16 upper-case letters or digits) or a "
           "legacy UA-<account>-<property> id";
}

/*  The banner is text shown on a page (the caller escapes it), not a
 *  header: any UTF-8 is fine except control characters; line breaks are
 *  allowed, as "\n" only. */
static const char *
s_check_banner (secpol_arena_t *arena, const char *value)
{
    (void)arena;
    return secpol_text_problem (value, SIZE_MAX, true);
}

static const char *
s_check_extension (secpol_arena_t *arena, const char *value)
{
    size_t length = strlen (value);
    bool good = length >= 1 && length <= 16;
    for (size_t k = 0; good && k < length; k++)
        good = (value[k] >= 'a' && value[k] <= 'z') || (value[k] >= '0' && value[k] <= '9');
    if (good)
        return NULL;
    return secpol_arena_printf (arena,
                                "%s is not an extension: use 1 to 16 lower-case letters "
                                "or digits, without a dot (\"pdf\")",
                                secpol_policy_quote (arena, value, 40));
}

char *
secpol_policy_quote (secpol_arena_t *arena, const char *text, size_t max_bytes)
{
    /* each byte becomes at most 4 ("\x0a"), plus quotes, "..." and NUL */
    char *quoted = secpol_arena_alloc (arena, 4 * max_bytes + 8);
    char *out = quoted;
    *out++ = '"';
    size_t k = 0;
    while (text[k]) {
        uint32_t c = 0;
        size_t available = strnlen (text + k, 4);
        size_t step = secpol_utf8_next (text + k, available, &c);
        if (k + (step ? step : 1) > max_bytes)
            break;
        if (step == 0 || c < 0x20 || c == 0x7f) {
            out += sprintf (out, "\\x%02x", (unsigned char)text[k]);
            step = 1;
        } else if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else {
            memcpy (out, text + k, step);
            out += step;
        }
        k += step;
    }
    *out++ = '"';
    if (text[k])
        out = stpcpy (out, "...");
    *out = '\0';
    return quoted;
}

/* --- words for people ------------------------------------------------------------ */

const char *
secpol_policy_field_allowed (secpol_arena_t *arena, size_t i)
{
    const secpol_policy_field_t *field = secpol_policy_field (i);
    const ProtobufCFieldDescriptor *fd = secpol_policy_field_descriptor (i);
    if (s_is_list (fd))
        return field->allowed;
    switch (fd->type) {
        case PROTOBUF_C_TYPE_BOOL:
            return field->allowed ? field->allowed : "true, false";
        case PROTOBUF_C_TYPE_STRING:
            return secpol_arena_printf (arena, "%s; at most %" PRIu64 " bytes",
                                        field->allowed ? field->allowed : "text", field->max);
        case PROTOBUF_C_TYPE_ENUM:
            return s_enum_listing (arena, fd->descriptor);
        default:
            if (field->allowed)
                return field->allowed;
            return secpol_arena_printf (arena, "%" PRIu64 "–%" PRIu64, field->min, field->max);
    }
}

const char *
secpol_policy_field_kind (size_t i)
{
    const ProtobufCFieldDescriptor *fd = secpol_policy_field_descriptor (i);
    if (s_is_list (fd))
        return "list";
    switch (fd->type) {
        case PROTOBUF_C_TYPE_BOOL:
            return "bool";
        case PROTOBUF_C_TYPE_ENUM:
            return "enum";
        case PROTOBUF_C_TYPE_STRING:
            return "text";
        default:
            return "integer";
    }
}

const char *
secpol_policy_short_text (size_t i, const char *text)
{
    const ProtobufCFieldDescriptor *fd = secpol_policy_field_descriptor (i);
    if (fd->type != PROTOBUF_C_TYPE_ENUM || s_is_list (fd))
        return text;
    const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value_by_name (
        (const ProtobufCEnumDescriptor *)fd->descriptor, text);
    return value ? s_enum_short (fd->descriptor, value->value) : text;
}

/* --- docs ---------------------------------------------------------------------- */

static const char *
s_default_text (secpol_arena_t *arena, size_t i)
{
    const ProtobufCFieldDescriptor *fd = secpol_policy_field_descriptor (i);
    const char *text = secpol_policy_short_text (i, s_fields[i].default_text);
    if (s_is_list (fd))
        return secpol_arena_printf (arena, "`%s`", text);
    if (fd->type == PROTOBUF_C_TYPE_STRING)
        return secpol_arena_printf (arena, "`\"%s\"`", text);
    return text;
}

char *
secpol_policy_fields_markdown (secpol_arena_t *arena)
{
    char *text = secpol_arena_strdup (
        arena,
        "| # | field | setting | unit | default | allowed | 0 / \"\" means | enforced by |\n"
        "|---|-------|---------|------|---------|---------|---------------|-------------|\n");
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const secpol_policy_field_t *field = &s_fields[i];
        text = secpol_arena_printf (arena, "%s| %u | `%s` | %s | %s | %s | %s | %s | %s |\n", text,
                                    field->setting, field->path, field->title,
                                    *field->unit ? field->unit : "–", s_default_text (arena, i),
                                    secpol_policy_field_allowed (arena, i),
                                    field->zero ? field->zero : "–", field->enforcer);
    }
    return text;
}

/* --- descriptor plumbing --------------------------------------------------------- */

static void
s_resolve (void)
{
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const char *path = s_fields[i].path;
        const char *dot = strchr (path, '.');
        char head[64];
        snprintf (head, sizeof head, "%.*s", (int)(dot ? (size_t)(dot - path) : strlen (path)),
                  path);
        const ProtobufCFieldDescriptor *outer =
            protobuf_c_message_descriptor_get_field_by_name (&secpol__v1__policy__descriptor, head);
        const ProtobufCFieldDescriptor *inner = NULL;
        if (outer && dot) {
            if (outer->type == PROTOBUF_C_TYPE_MESSAGE)
                inner =
                    protobuf_c_message_descriptor_get_field_by_name (outer->descriptor, dot + 1);
            if (!inner || ((const ProtobufCMessageDescriptor *)outer->descriptor)->sizeof_message >
                              sizeof s_zero_message)
                outer = NULL;
        }
        if (!outer || (!dot && outer->type == PROTOBUF_C_TYPE_MESSAGE)) {
            fprintf (stderr, "secpol: policy field table names \"%s\", not a Policy leaf\n", path);
            abort ();
        }
        s_leaves[i].outer = outer;
        s_leaves[i].inner = inner;
        if (inner)
            snprintf (s_leaves[i].message, sizeof s_leaves[i].message, "%s", head);
    }
}

static const void *
s_member (const Secpol__V1__Policy *policy, size_t i, const ProtobufCFieldDescriptor **fd_p)
{
    pthread_once (&s_once, s_resolve);
    const leaf_t *leaf = &s_leaves[i];
    const char *base = (const char *)policy;
    if (leaf->inner) {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + leaf->outer->offset);
        base = sub ? (const char *)sub : s_zero_message.bytes;
        *fd_p = leaf->inner;
        return base + leaf->inner->offset;
    }
    *fd_p = leaf->outer;
    return base + leaf->outer->offset;
}

static void *
s_member_mut (secpol_arena_t *arena, Secpol__V1__Policy *policy, size_t i,
              const ProtobufCFieldDescriptor **fd_p)
{
    pthread_once (&s_once, s_resolve);
    const leaf_t *leaf = &s_leaves[i];
    char *base = (char *)policy;
    if (leaf->inner) {
        ProtobufCMessage **sub = (ProtobufCMessage **)(base + leaf->outer->offset);
        if (!*sub)
            *sub = secpol_arena_message (arena, leaf->outer->descriptor);
        *fd_p = leaf->inner;
        return (char *)*sub + leaf->inner->offset;
    }
    *fd_p = leaf->outer;
    return base + leaf->outer->offset;
}

static uint64_t
s_number (const ProtobufCFieldDescriptor *fd, const void *member)
{
    switch (fd->type) {
        case PROTOBUF_C_TYPE_BOOL:
            return *(const protobuf_c_boolean *)member != 0;
        case PROTOBUF_C_TYPE_ENUM:
            return (uint64_t)(int64_t) * (const int *)member;
        case PROTOBUF_C_TYPE_UINT32:
            return *(const uint32_t *)member;
        case PROTOBUF_C_TYPE_UINT64:
            return *(const uint64_t *)member;
        default:
            abort (); /* the table holds no other type; s_resolve would have said */
    }
}

/*  Leaf i of policy (a number, bool or enum leaf) as a number. */
static uint64_t
s_number_of (const Secpol__V1__Policy *policy, size_t i)
{
    const ProtobufCFieldDescriptor *fd;
    const void *member = s_member (policy, i, &fd);
    return s_number (fd, member);
}

static void
s_set_number (const ProtobufCFieldDescriptor *fd, void *member, uint64_t value)
{
    switch (fd->type) {
        case PROTOBUF_C_TYPE_BOOL:
            *(protobuf_c_boolean *)member = value != 0;
            break;
        case PROTOBUF_C_TYPE_ENUM:
            *(int *)member = (int)(int64_t)value;
            break;
        case PROTOBUF_C_TYPE_UINT32:
            *(uint32_t *)member = (uint32_t)value;
            break;
        case PROTOBUF_C_TYPE_UINT64:
            *(uint64_t *)member = value;
            break;
        default:
            abort ();
    }
}

static size_t
s_list (const ProtobufCFieldDescriptor *fd, const void *member, char *const **items_p)
{
    *items_p = *(char *const *const *)member;
    return *(const size_t *)((const char *)member - fd->offset + fd->quantifier_offset);
}

static const char *
s_string (const void *member)
{
    const char *value = *(const char *const *)member;
    return value ? value : "";
}

static bool
s_is_list (const ProtobufCFieldDescriptor *fd)
{
    return fd->label == PROTOBUF_C_LABEL_REPEATED;
}

/*  "MEDIUM" for PASSWORD_POLICY_LEVEL_MEDIUM: the name without the prefix
 *  its UNSPECIFIED value has. */
static const char *
s_enum_short (const ProtobufCEnumDescriptor *ed, int value)
{
    const ProtobufCEnumValue *unspecified = protobuf_c_enum_descriptor_get_value (ed, 0);
    const ProtobufCEnumValue *named = protobuf_c_enum_descriptor_get_value (ed, value);
    if (!named)
        return "";
    size_t prefix = 0;
    if (unspecified) {
        const char *suffix = strstr (unspecified->name, "UNSPECIFIED");
        prefix = suffix ? (size_t)(suffix - unspecified->name) : 0;
    }
    if (strlen (named->name) > prefix && strncmp (named->name, unspecified->name, prefix) == 0)
        return named->name + prefix;
    return named->name;
}

/*  "LOW, MEDIUM, HIGH": the short names of every value but the
 *  UNSPECIFIED zero, which no setting accepts. */
static const char *
s_enum_listing (secpol_arena_t *arena, const ProtobufCEnumDescriptor *ed)
{
    const char *text = "";
    for (unsigned k = 0; k < ed->n_values; k++)
        if (ed->values[k].value != 0)
            text = secpol_arena_printf (arena, "%s%s%s", text, *text ? ", " : "",
                                        s_enum_short (ed, ed->values[k].value));
    return text;
}

/*  Steps through a comma-separated list: start with *p = the text, or NULL
 *  when the text is "" (no entries). Returns false at the end, else the next
 *  entry (spaces around it trimmed; possibly empty: "a," has "a" and "") in
 *  *item / *length. */
static bool
s_next_item (const char **p, const char **item, size_t *length)
{
    if (!*p)
        return false;
    const char *start = *p;
    const char *comma = strchr (start, ',');
    size_t n = comma ? (size_t)(comma - start) : strlen (start);
    *p = comma ? comma + 1 : NULL;
    while (n && *start == ' ')
        start++, n--;
    while (n && start[n - 1] == ' ')
        n--;
    *item = start;
    *length = n;
    return true;
}
