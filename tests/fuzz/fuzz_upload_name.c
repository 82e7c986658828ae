/*  fuzz_upload_name.c - secpol_policy_check_upload on arbitrary names, with
 *  the default policy (and, when the input's first byte is odd, a policy
 *  that allows only "exe" and "tar", to reach the refusal of a well-formed
 *  extension by other means).
 *
 *  Input: byte 0 chooses the policy; the rest, up to its first NUL, is the
 *  name (a name with a NUL never reaches the check: the dispatcher refuses
 *  it).
 *
 *  Invariants (abort when broken), for an allowed name:
 *  - its extension is in the allowed list and is 1-16 lower-case ASCII
 *    letters or digits;
 *  - the name is valid UTF-8 without control characters or bidirectional
 *    text controls;
 *  - the file name part (after the last '/' or '\', without trailing dots
 *    and spaces) is at most 255 bytes, has none of < > : " | ? *, and ends
 *    in '.' and the extension, in any case, after something that is not a
 *    dot.
 *  For a refused name: a reason, and an extension that is "" or 1-16
 *  lower-case ASCII letters or digits.
 */
#include "fuzz_support.h"

#include "arena.h"
#include "policy.h"
#include "policy_fields.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static Secpol__V1__Policy *s_policies[2];
static secpol_arena_t *s_policy_arena;

static bool s_is_extension (const char *text);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_policy_arena = secpol_arena_new ();
    s_policies[0] = secpol_policy_defaults (s_policy_arena);
    s_policies[1] = secpol_policy_defaults (s_policy_arena);
    int index = secpol_policy_field_index ("allowed_file_extensions");
    if (index < 0 ||
        secpol_policy_leaf_parse (s_policy_arena, s_policies[1], (size_t)index, "exe,tar") != 0)
        abort ();
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const Secpol__V1__Policy *policy = s_policies[data[0] & 1];
    size_t length = strnlen ((const char *)data + 1, size - 1);
    char *name = malloc (length + 1);
    memcpy (name, data + 1, length);
    name[length] = '\0';

    secpol_arena_t *arena = secpol_arena_new ();
    Secpol__V1__CheckFileUploadResponse out = SECPOL__V1__CHECK_FILE_UPLOAD_RESPONSE__INIT;
    secpol_policy_check_upload (arena, policy, name, &out);
    FUZZ_REQUIRE (out.extension && out.reason, "NULL extension or reason");
    FUZZ_REQUIRE (!*out.extension || s_is_extension (out.extension), "extension \"%s\"",
                  out.extension);
    if (!out.allowed)
        FUZZ_REQUIRE (*out.reason, "refused without a reason");
    else {
        FUZZ_REQUIRE (!*out.reason, "allowed with a reason: %s", out.reason);
        bool listed = false;
        for (size_t k = 0; k < policy->n_allowed_file_extensions; k++)
            listed = listed || strcmp (policy->allowed_file_extensions[k], out.extension) == 0;
        FUZZ_REQUIRE (listed && *out.extension, "allowed \"%s\" is not listed", out.extension);

        for (size_t k = 0; k < length;) {
            uint32_t c;
            size_t step = secpol_utf8_next (name + k, length - k, &c);
            FUZZ_REQUIRE (step, "allowed a name that is not UTF-8 (byte %zu)", k);
            FUZZ_REQUIRE (!secpol_text_is_control (c), "allowed a control character U+%04X",
                          (unsigned)c);
            FUZZ_REQUIRE (!(c == 0x061C || c == 0x200E || c == 0x200F ||
                            (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)),
                          "allowed a bidirectional control U+%04X", (unsigned)c);
            k += step;
        }
        const char *base = name;
        for (const char *p = name; *p; p++)
            if (*p == '/' || *p == '\\')
                base = p + 1;
        size_t n = strlen (base);
        while (n && (base[n - 1] == '.' || base[n - 1] == ' '))
            n--;
        FUZZ_REQUIRE (n <= SECPOL_POLICY_FILENAME_MAX, "allowed a name of %zu bytes", n);
        for (size_t k = 0; k < n; k++)
            FUZZ_REQUIRE (!strchr ("<>:\"|?*", base[k]), "allowed a name with '%c'", base[k]);
        size_t ext = strlen (out.extension);
        FUZZ_REQUIRE (n >= ext + 2 && base[n - ext - 1] == '.' &&
                          strncasecmp (base + n - ext, out.extension, ext) == 0,
                      "allowed \"%s\" does not end in .%s", name, out.extension);
        bool stem = false;
        for (size_t k = 0; k + ext + 1 < n; k++)
            stem = stem || base[k] != '.';
        FUZZ_REQUIRE (stem, "allowed \"%s\", which has nothing before its extension", name);
    }
    secpol_arena_destroy (&arena);
    free (name);
    return 0;
}

static bool
s_is_extension (const char *text)
{
    size_t n = strlen (text);
    bool good = n >= 1 && n <= 16;
    for (size_t k = 0; good && k < n; k++)
        good = (text[k] >= 'a' && text[k] <= 'z') || (text[k] >= '0' && text[k] <= '9');
    return good;
}
