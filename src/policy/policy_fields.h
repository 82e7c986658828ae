/*  policy_fields.h - the table of policy settings, and everything it drives.
 *
 *  Every setting of secpol.v1.Policy is one leaf of this table: a path such
 *  as "login_lockout.max_failures", its default, its range or validator,
 *  its unit, what 0 means and which service enforces it. Defaults, update
 *  mask expansion, validation, inheritance, revision diffs and the table in
 *  docs/POLICY.md all come from it. Values are read and written generically
 *  through the protobuf-c field descriptors (offset, type, label), so no
 *  code is written per setting.
 *
 *  Leaves are numbered by their position in the table (0 .. count-1); a
 *  secpol_policy_mask_t holds one bit per leaf.
 *
 *  Everything here is pure (no store, no clock) and thread safe: the table
 *  is constant and the descriptors are resolved once.
 */
#ifndef SECPOL_POLICY_FIELDS_H_INCLUDED
#define SECPOL_POLICY_FIELDS_H_INCLUDED

/* relative, not "arena.h": secpolctl checks settings with this table too
 * (clients/cli/secpolctl_policy_table.c) and has no src/runtime include path */
#include "../runtime/arena.h"
#include "../runtime/text.h"

#include "secpol/store/v1/policy_level.pb-c.h"
#include "secpol/v1/policy.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  The enforcer of the leaves that RenderSecurityHeaders renders. */
#define SECPOL_POLICY_BY_HEADERS "RenderSecurityHeaders"

/*  One bit per leaf (bit i = leaf i of the table). */
typedef uint64_t secpol_policy_mask_t;

/*  How a leaf set at several levels combines. */
typedef enum {
    SECPOL_POLICY_MERGE_OVERRIDE = 0, /* the nearest level that sets it wins */
    SECPOL_POLICY_MERGE_MAX = 1,      /* the largest value of all levels wins (counters) */
} secpol_policy_merge_t;

/*  Checks one string value (or one entry of a string list). Returns NULL
 *  when it is good, else a description of what is wrong (static or in
 *  arena). */
typedef const char *(*secpol_policy_check_fn) (secpol_arena_t *arena, const char *value);

typedef struct {
    const char *path;             /* "login_lockout.max_failures" */
    unsigned setting;             /* its number in DESIGN.md's table (1..54) */
    const char *title;            /* the setting in plain words */
    const char *unit;             /* "minutes", "failures", ... ; "" for flags and text */
    const char *default_text;     /* the default, in text form (secpol_policy_leaf_parse) */
    uint64_t min;                 /* numbers: least value */
    uint64_t max;                 /* numbers: largest value; text: bytes; lists: entries */
    const char *allowed;          /* allowed values in words; NULL: from min/max or the enum */
    const char *zero;             /* what 0 (or "") means; NULL: nothing special */
    const char *enforcer;         /* which secpol service enforces it, or who it is served to */
    const char *group;            /* leaves inherited together (cross-field rules); NULL: alone */
    secpol_policy_merge_t merge;  /* how levels combine */
    secpol_policy_check_fn check; /* text and list entries: extra validator; NULL: none */
} secpol_policy_field_t;

/*  One bad value found by secpol_policy_validate(). */
typedef struct {
    const char *field;       /* "policy.login_lockout.max_failures" */
    const char *description; /* what is wrong, in plain words */
} secpol_policy_violation_t;

/*  Number of leaves in the table. */
size_t secpol_policy_field_count (void);

/*  The i-th leaf (i < secpol_policy_field_count()). */
const secpol_policy_field_t *secpol_policy_field (size_t i);

/*  Returns the index of the leaf with this path, or -1. */
int secpol_policy_field_index (const char *path);

/*  The protobuf-c descriptor of leaf i (its type and label). */
const ProtobufCFieldDescriptor *secpol_policy_field_descriptor (size_t i);

/*  Every leaf. */
secpol_policy_mask_t secpol_policy_mask_all (void);

/*  Adds the leaves an update_mask path names to *mask: "*" names every
 *  leaf, a message path ("login_lockout") its leaves, a leaf path itself.
 *  Returns 0, or -1 when the path names no setting (unknown, empty, or a
 *  metadata field such as "version"); *mask is then unchanged. */
int secpol_policy_mask_add (secpol_policy_mask_t *mask, const char *path);

/*  Returns the setting path nearest to path, for a "did you mean" hint, or
 *  NULL when none is near enough to be a likely typo. Near: at most
 *  1 + length / 5 (and at most 4) single-character edits (insert, delete,
 *  replace, swap two neighbours; case ignored), or path is the last part
 *  of a path ("max_failures" -> "login_lockout.max_failures", the first
 *  in table order). Candidates are the leaf paths and, when messages is
 *  true, the message paths an update_mask takes ("login_lockout"). A path
 *  of more than 128 bytes gets no hint. Returns a static string. */
const char *secpol_policy_nearest_path (const char *path, bool messages);

/*  Returns mask widened to whole groups: a group (hsts, google_analytics,
 *  the auth page banner) has cross-field rules, so a level that sets one of
 *  its leaves sets all of them. */
secpol_policy_mask_t secpol_policy_mask_groups (secpol_policy_mask_t mask);

/*  Returns a new empty policy (every field zero) with every sub-message
 *  allocated, in arena. */
Secpol__V1__Policy *secpol_policy_new (secpol_arena_t *arena);

/*  Returns a new policy holding every default, in arena. */
Secpol__V1__Policy *secpol_policy_defaults (secpol_arena_t *arena);

/*  Returns the defaults, parsed once for the life of the process and shared
 *  by every thread: read it, never change it (copy with secpol_policy_compose
 *  or secpol_policy_defaults for a policy to change). */
const Secpol__V1__Policy *secpol_policy_shared_defaults (void);

/*  Copies leaf i from src to dst (strings are copied into arena). A NULL
 *  sub-message of src reads as all zero. */
void secpol_policy_leaf_copy (secpol_arena_t *arena, Secpol__V1__Policy *dst,
                              const Secpol__V1__Policy *src, size_t i);

/*  True when leaf i holds the same value in a and b. */
bool secpol_policy_leaf_equal (const Secpol__V1__Policy *a, const Secpol__V1__Policy *b, size_t i);

/*  Returns leaf i of policy as text, in arena: "true", "15",
 *  "PASSWORD_POLICY_LEVEL_MEDIUM", the string itself, or a list joined by
 *  commas ("pdf,png"). */
char *secpol_policy_leaf_text (secpol_arena_t *arena, const Secpol__V1__Policy *policy, size_t i);

/*  Sets leaf i of policy from text (the form secpol_policy_leaf_text()
 *  writes; enums also by short name, "MEDIUM"; lists comma-separated, spaces
 *  around entries ignored). Returns 0, or -1 when text does not parse for
 *  the leaf's type. Does not validate ranges: see secpol_policy_validate. */
int secpol_policy_leaf_parse (secpol_arena_t *arena, Secpol__V1__Policy *policy, size_t i,
                              const char *text);

/*  Validates an update of one level:
 *    update   the values the caller sent; every leaf in mask is checked
 *             against its range, value set or validator;
 *    mask     the leaves being set;
 *    result   the effective policy the level would have after the update;
 *             cross-field rules (HSTS preload, analytics id, banner text)
 *             are checked on it for every group mask touches;
 *    current  the effective policy before the update; a MAX-merged leaf
 *             (force_password_reset) may not go below it. May be NULL.
 *  Returns the number of violations (0 = valid) and, when there are any,
 *  sets *violations_p to an array of them in arena, one per bad field, in
 *  table order. */
size_t secpol_policy_validate (secpol_arena_t *arena, const Secpol__V1__Policy *update,
                               secpol_policy_mask_t mask, const Secpol__V1__Policy *result,
                               const Secpol__V1__Policy *current,
                               secpol_policy_violation_t **violations_p);

/*  The leaves a stored level overrides (paths it does not know, from a newer
 *  build, are ignored). */
secpol_policy_mask_t secpol_policy_level_mask (const Secpol__Store__V1__PolicyLevel *level);

/*  Sets level->overridden to the paths of mask, in table order, in arena. */
void secpol_policy_level_set_mask (secpol_arena_t *arena, Secpol__Store__V1__PolicyLevel *level,
                                   secpol_policy_mask_t mask);

/*  Applies a stored level on top of effective: each leaf it overrides
 *  replaces the inherited value; a MAX-merged leaf becomes the largest of
 *  the inherited value, the level's own and its high-water mark (which a
 *  deleted level keeps). level may be NULL (nothing to apply). */
void secpol_policy_level_apply (secpol_arena_t *arena, Secpol__V1__Policy *effective,
                                const Secpol__Store__V1__PolicyLevel *level);

/*  Sets level->high_water (in arena) for every MAX-merged leaf to the
 *  largest of old's high-water mark, what old set and what level sets, so
 *  that a counter never goes down, across DeletePolicy too. old is the
 *  level's record before the change (NULL when there was none); level's
 *  overridden paths and values must be final. */
void secpol_policy_level_keep_high_water (secpol_arena_t *arena,
                                          Secpol__Store__V1__PolicyLevel *level,
                                          const Secpol__Store__V1__PolicyLevel *old);

/*  Compares a level before and after a change. A leaf changed when the level
 *  starts or stops setting it, or sets it to another value. Each change
 *  reads old_effective / new_effective for its texts. Returns the number of
 *  changes and sets *changes_p to them (Secpol__V1__FieldChange, in arena,
 *  table order). */
size_t secpol_policy_diff (secpol_arena_t *arena, secpol_policy_mask_t old_mask,
                           const Secpol__V1__Policy *old_values,
                           const Secpol__V1__Policy *old_effective, secpol_policy_mask_t new_mask,
                           const Secpol__V1__Policy *new_values,
                           const Secpol__V1__Policy *new_effective,
                           Secpol__V1__FieldChange ***changes_p);

/*  Returns text for a violation description, in arena: in double quotes,
 *  with ", \ and control characters escaped ("\x0a"), and cut at a
 *  character boundary after at most max_bytes bytes of text ("..." after
 *  the closing quote says it was cut). Bytes that are not UTF-8 are escaped
 *  too, so the result is always valid UTF-8. Reads at most max_bytes + 4
 *  bytes of text: a long client value costs no more than a short one. */
char *secpol_policy_quote (secpol_arena_t *arena, const char *text, size_t max_bytes);

/*  What leaf i allows, in words, for people (docs/POLICY.md, `secpolctl
 *  policy settings`, errors): "1–43200", "LOW, MEDIUM, HIGH", "true,
 *  false", "printable ASCII text; at most 4096 bytes". Static or in arena. */
const char *secpol_policy_field_allowed (secpol_arena_t *arena, size_t i);

/*  The kind of value leaf i takes: "integer", "bool", "enum", "text" or
 *  "list" (comma-separated text). Static. */
const char *secpol_policy_field_kind (size_t i);

/*  text, a value of leaf i in the form secpol_policy_leaf_text() writes,
 *  as people read it: an enum without its type's prefix ("MEDIUM" for
 *  PASSWORD_POLICY_LEVEL_MEDIUM), anything else as it is. Returns text or
 *  a static string. */
const char *secpol_policy_short_text (size_t i, const char *text);

/*  Prints the table as the Markdown rows of docs/POLICY.md ("| # | field |
 *  ..."), in arena. The docs test compares it with the file. */
char *secpol_policy_fields_markdown (secpol_arena_t *arena);

#endif
