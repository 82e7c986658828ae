/*  test_policy_upload.c - CheckFileUpload's name judgement: a battery of
 *  names an attacker (or an unlucky user) might send. */
#include "policy.h"
#include "policy_fields.h"

#include "fixtures.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
    const char *name;
    bool allowed;
    const char *extension; /* expected normalised extension */
    const char *reason;    /* a word the reason contains; NULL when allowed */
} upload_case_t;

static void
s_run (secpol_arena_t *arena, const Secpol__V1__Policy *policy, const upload_case_t *cases,
       size_t n)
{
    for (size_t k = 0; k < n; k++) {
        Secpol__V1__CheckFileUploadResponse out = SECPOL__V1__CHECK_FILE_UPLOAD_RESPONSE__INIT;
        secpol_policy_check_upload (arena, policy, cases[k].name, &out);
        if (!!out.allowed != cases[k].allowed || strcmp (out.extension, cases[k].extension) != 0)
            fail_msg ("\"%s\": allowed=%d extension=\"%s\" reason=\"%s\"; expected %d \"%s\"",
                      cases[k].name, out.allowed, out.extension, out.reason, cases[k].allowed,
                      cases[k].extension);
        if (cases[k].allowed)
            assert_string_equal (out.reason, "");
        else if (!strstr (out.reason, cases[k].reason))
            fail_msg ("\"%s\": reason \"%s\" does not mention \"%s\"", cases[k].name, out.reason,
                      cases[k].reason);
    }
}

static void
test_name_battery (void **state)
{
    secpol_arena_t *arena = *state;
    static const upload_case_t cases[] = {
        {"report.pdf", true, "pdf", NULL},
        /* the last extension decides */
        {"report.pdf.exe", false, "exe", "not allowed"},
        {"archive.tar.gz", false, "gz", "not allowed"},
        {"invoice.exe.pdf", true, "pdf", NULL},
        /* directories are stripped, both separators */
        {"../../etc/passwd", false, "", "no extension"},
        {"C:\\x\\y.PDF", true, "pdf", NULL},
        {"/var/tmp/../photo.jpg", true, "jpg", NULL},
        {"uploads\\..\\evil.exe", false, "exe", "not allowed"},
        {"dir/", false, "", "no file name"},
        {"/", false, "", "no file name"},
        {"\\", false, "", "no file name"},
        /* case folded */
        {"a.PdF", true, "pdf", NULL},
        {"photo.JPEG", true, "jpeg", NULL},
        /* trailing dots and spaces ignored (Windows drops them) */
        {"a.pdf. . ", true, "pdf", NULL},
        {"a.exe. . .", false, "exe", "not allowed"},
        {"a.exe ", false, "exe", "not allowed"},
        {". . .", false, "", "no file name"},
        /* no extension */
        {"noext", false, "", "no extension"},
        {".bashrc", false, "", "no extension"},
        {"..pdf", false, "", "no extension"},
        {"a.", false, "", "no extension"},
        {".hidden.pdf", true, "pdf", NULL},
        /* control characters anywhere */
        {"a\x01.pdf", false, "", "control"},
        {"a\tb.pdf", false, "", "control"},
        {"a.pdf\r\n", false, "", "control"},
        {"a\x7f.pdf", false, "", "control"},
        {"a\xc2\x85.pdf", false, "", "control"}, /* U+0085, a C1 control */
        /* right-to-left override: "report<RLO>fdp.exe" displays as "reportexe.pdf" */
        {"report\xe2\x80\xae"
         "fdp.exe",
         false, "", "bidirectional"},
        /* not UTF-8 */
        {"\xff\xfe.pdf", false, "", "UTF-8"},
        {"a\xc0\xaf.pdf", false, "", "UTF-8"}, /* overlong '/' */
        /* NTFS streams and other Windows-reserved characters */
        {"a.exe:x.pdf", false, "", "':'"},
        {"a.exe::$DATA", false, "", "':'"},
        {"what?.pdf", false, "", "'?'"},
        {"a<b>.pdf", false, "", "Windows"},
        /* the extension must be ASCII letters or digits */
        {"a.p df", false, "", "letters or digits"},
        {"a.\xef\xbd\x90\xef\xbd\x84\xef\xbd\x86", false, "", "letters or digits"}, /* fullwidth */
        {"a.abcdefghijklmnopq", false, "", "letters or digits"},
        {"a.pdf%00.exe", false, "exe", "not allowed"},
        {"shell.php%00.pdf", true, "pdf", NULL}, /* literal "%00": harmless text */
        /* non-ASCII names are fine */
        {"r\xc3\xa9sum\xc3\xa9.pdf", true, "pdf", NULL},
        {"\xe5\xa0\xb1\xe5\x91\x8a.xlsx", true, "xlsx", NULL},
    };
    s_run (arena, secpol_policy_defaults (arena), cases, sizeof cases / sizeof cases[0]);
}

static void
test_length_limit (void **state)
{
    secpol_arena_t *arena = *state;
    Secpol__V1__Policy *policy = secpol_policy_defaults (arena);
    char name[300];
    memset (name, 'a', sizeof name);
    strcpy (name + 251, ".pdf"); /* 255 bytes */
    Secpol__V1__CheckFileUploadResponse out = SECPOL__V1__CHECK_FILE_UPLOAD_RESPONSE__INIT;
    secpol_policy_check_upload (arena, policy, name, &out);
    assert_true (out.allowed);
    memset (name, 'a', sizeof name);
    strcpy (name + 252, ".pdf"); /* 256 bytes */
    secpol_policy_check_upload (arena, policy, name, &out);
    assert_false (out.allowed);
    assert_non_null (strstr (out.reason, "255"));
    /* the limit is on the name, not the directories in front of it */
    char path[600];
    memset (path, 'd', 400);
    strcpy (path + 400, "/short.pdf");
    secpol_policy_check_upload (arena, policy, path, &out);
    assert_true (out.allowed);
}

static void
test_policy_list_decides (void **state)
{
    secpol_arena_t *arena = *state;
    Secpol__V1__Policy *policy = secpol_policy_defaults (arena);
    assert_int_equal (
        secpol_policy_leaf_parse (arena, policy,
                                  secpol_policy_field_index ("allowed_file_extensions"), "7z,mp4"),
        0);
    static const upload_case_t cases[] = {
        {"backup.7Z", true, "7z", NULL},
        {"clip.mp4", true, "mp4", NULL},
        {"report.pdf", false, "pdf", "not allowed"},
    };
    s_run (arena, policy, cases, 3);

    /* an empty list refuses every upload */
    policy->n_allowed_file_extensions = 0;
    static const upload_case_t none[] = {{"clip.mp4", false, "mp4", "not allowed"}};
    s_run (arena, policy, none, 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_ARENA (test_name_battery),
        SECPOL_TEST_WITH_ARENA (test_length_limit),
        SECPOL_TEST_WITH_ARENA (test_policy_list_decides),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
