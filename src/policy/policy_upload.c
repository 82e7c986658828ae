/*  policy_upload.c - judging a client-supplied upload name; see policy_upload.h.
 *
 *  The name is whatever a browser or API client sent, so every step assumes
 *  an attacker wrote it:
 *    1. the whole name must be valid UTF-8 without control characters
 *       (C0, DEL, C1) or bidirectional-text controls (U+202E and friends
 *       make "exe.pdf" display as something else);
 *    2. directory parts are stripped at the last '/' or '\';
 *    3. trailing dots and spaces are dropped (Windows drops them on save:
 *       "a.exe. ." is saved as "a.exe");
 *    4. a name with a Windows-reserved character (< > : " | ? *) is
 *       refused: ':' would name an NTFS alternate data stream
 *       ("a.exe:x.pdf" writes a.exe);
 *    5. the extension is what follows the last dot, provided something
 *       other than dots precedes it (".bashrc" and "..pdf" have none),
 *       folded to lower case; it must be 1-16 ASCII letters or digits;
 *    6. it must be in the policy's allowed_file_extensions.
 */
#include "policy_upload.h"
#include "policy_fields.h"

#include <string.h>

#define EXTENSION_MAX 16

static void
s_refuse (secpol_arena_t *arena, Secpol__V1__CheckFileUploadResponse *out, const char *reason)
{
    out->allowed = false;
    out->reason = secpol_arena_strdup (arena, reason);
}

static bool
s_is_bidi_control (uint32_t c)
{
    return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069);
}

void
secpol_policy_check_upload (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
                            const char *filename, Secpol__V1__CheckFileUploadResponse *out)
{
    out->allowed = false;
    out->extension = "";
    out->reason = "";
    size_t n = strlen (filename);

    for (size_t k = 0; k < n;) {
        uint32_t c;
        size_t step = secpol_utf8_next (filename + k, n - k, &c);
        if (!step) {
            s_refuse (arena, out, "the name is not valid UTF-8");
            return;
        }
        if (secpol_text_is_control (c)) {
            s_refuse (arena, out, "the name contains a control character");
            return;
        }
        if (s_is_bidi_control (c)) {
            s_refuse (arena, out,
                      "the name contains a bidirectional text control, which can disguise its "
                      "extension");
            return;
        }
        k += step;
    }

    const char *base = filename;
    for (const char *p = filename; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t length = strlen (base);
    while (length && (base[length - 1] == '.' || base[length - 1] == ' '))
        length--;
    if (length == 0) {
        s_refuse (arena, out, "the name has no file name part");
        return;
    }
    if (length > SECPOL_POLICY_FILENAME_MAX) {
        s_refuse (arena, out, "the name is longer than 255 bytes");
        return;
    }
    for (size_t k = 0; k < length; k++)
        if (strchr ("<>:\"|?*", base[k])) {
            s_refuse (arena, out,
                      secpol_arena_printf (arena,
                                           "the name contains '%c', which Windows reserves "
                                           "(':' would name an NTFS alternate data stream)",
                                           base[k]));
            return;
        }

    size_t dot = length;
    while (dot > 0 && base[dot - 1] != '.')
        dot--;
    /* dot is now the index after the last '.', or 0 when there is none */
    size_t stem_end = dot ? dot - 1 : 0;
    bool has_stem = false;
    for (size_t k = 0; k < stem_end; k++)
        has_stem = has_stem || base[k] != '.';
    if (dot == 0 || !has_stem || dot == length) {
        s_refuse (arena, out, "the name has no extension");
        return;
    }

    size_t ext_length = length - dot;
    char extension[EXTENSION_MAX + 1];
    bool alphanumeric = ext_length <= EXTENSION_MAX;
    for (size_t k = 0; alphanumeric && k < ext_length; k++) {
        char c = base[dot + k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        extension[k] = c;
    }
    if (!alphanumeric) {
        s_refuse (arena, out, "the extension is not 1 to 16 ASCII letters or digits");
        return;
    }
    extension[ext_length] = 0;
    out->extension = secpol_arena_strdup (arena, extension);

    for (size_t k = 0; k < policy->n_allowed_file_extensions; k++)
        if (strcmp (policy->allowed_file_extensions[k], extension) == 0) {
            out->allowed = true;
            return;
        }
    s_refuse (
        arena, out,
        secpol_arena_printf (arena, "\"%s\" files are not allowed in this workspace", extension));
}
