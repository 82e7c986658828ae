/*  test_policy_cli_text.c - what `secpolctl policy` prints, as text a
 *  person reads: every value goes through secpol_json_escape_text
 *  (clients/cli/json_pb.h), so no value can end a line, forge another
 *  (a banner with "\nversion 9 ..." in `policy history`) or drive the
 *  terminal; and the JSON mapping's enum errors never offer _UNSPECIFIED.
 */
#include "json_pb.h"

#include "secpol/v1/policy.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/*  Escapes text and checks the result. */
static void
s_assert_escaped (const char *text, bool quote, const char *expected)
{
    char *escaped = secpol_json_escape_text (text, quote);
    assert_non_null (escaped);
    if (strcmp (escaped, expected) != 0)
        fail_msg ("escaped \"%s\" as \"%s\", expected \"%s\"", text, escaped, expected);
    free (escaped);
}

static void
test_plain_text_is_kept (void **state)
{
    (void)state;
    s_assert_escaped ("session_timeout_minutes", false, "session_timeout_minutes");
    s_assert_escaped ("default-src 'self'; img-src data:", false,
                      "default-src 'self'; img-src data:");
    /* UTF-8 letters, symbols and emoji are text, not controls */
    s_assert_escaped ("\xc3\xa9quipe \xe6\x97\xa5\xe6\x9c\xac \xe2\x80\x93 \xf0\x9f\x94\x92", false,
                      "\xc3\xa9quipe \xe6\x97\xa5\xe6\x9c\xac \xe2\x80\x93 \xf0\x9f\x94\x92");
    s_assert_escaped ("", false, "");
    s_assert_escaped (NULL, false, "");
    s_assert_escaped ("", true, "\"\"");
    s_assert_escaped ("a \"b\"", true, "\"a \\\"b\\\"\"");
    s_assert_escaped ("a \"b\"", false, "a \"b\"");
}

static void
test_controls_are_escaped (void **state)
{
    (void)state;
    /* C0 and DEL */
    s_assert_escaped ("a\nb\rc\td", false, "a\\nb\\rc\\td");
    s_assert_escaped ("\x01\x1b[31mred\x7f", false, "\\x01\\x1b[31mred\\x7f");
    /* the backslash itself, so that an escape always was a character */
    s_assert_escaped ("C:\\x41", false, "C:\\\\x41");
    s_assert_escaped ("\\n", true, "\"\\\\n\"");
    /* C1 controls: U+0085 (NEL) ends a line in some terminals, U+009B is CSI */
    s_assert_escaped ("a\xc2\x85"
                      "b\xc2\x9b"
                      "31m",
                      false, "a\\u0085b\\u009b31m");
    s_assert_escaped ("\xc2\x80\xc2\x9f\xc2\xa0", false, "\\u0080\\u009f\xc2\xa0");
    /* line and paragraph separators */
    s_assert_escaped ("a\xe2\x80\xa8"
                      "b\xe2\x80\xa9",
                      false, "a\\u2028b\\u2029");
    /* bidirectional controls: "report<RLO>fdp.exe" shows as "reportexe.pdf" */
    s_assert_escaped ("report\xe2\x80\xae"
                      "fdp.exe",
                      false, "report\\u202efdp.exe");
    s_assert_escaped ("\xe2\x81\xa6x\xe2\x81\xa9\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", false,
                      "\\u2066x\\u2069\\u200e\\u200f\\u061c");
}

static void
test_invalid_utf8_is_escaped_bytewise (void **state)
{
    (void)state;
    s_assert_escaped ("\xff", false, "\\xff");
    s_assert_escaped ("a\xc0\xaf"
                      "b",
                      false, "a\\xc0\\xafb");                             /* overlong "/" */
    s_assert_escaped ("\xe2\x80", false, "\\xe2\\x80");                   /* truncated */
    s_assert_escaped ("\xed\xa0\x80", false, "\\xed\\xa0\\x80");          /* a surrogate */
    s_assert_escaped ("\xf4\x90\x80\x80", false, "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
    s_assert_escaped ("\x80"
                      "abc",
                      false, "\\x80abc"); /* stray continuation */
}

/*  The attack of issue 7: a banner whose newlines write revision lines of
 *  their own into `policy history`. Escaped, it stays on its line. */
static void
test_a_value_cannot_forge_a_line (void **state)
{
    (void)state;
    const char *banner = "Maintenance\nversion 9  2026-12-01T00:00:00Z  admin@example.com\n"
                         "  force_password_reset: 0 -> 0";
    char *escaped = secpol_json_escape_text (banner, true);
    assert_null (strchr (escaped, '\n'));
    assert_non_null (strstr (escaped, "Maintenance\\nversion 9"));
    free (escaped);
}

/*  Every input of one or two bytes (and three, for the E2 lead of U+2028
 *  and the bidi controls) comes out as valid UTF-8 without any character
 *  that can end a line or drive a terminal. */
static void
test_no_input_of_up_to_three_bytes_leaks_a_control (void **state)
{
    (void)state;
    for (unsigned a = 1; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (unsigned c = 0; c < (a == 0xe2 || a == 0xd8 ? 256u : 1u); c++) {
                char text[4] = {(char)a, (char)b, (char)c, 0};
                char *escaped = secpol_json_escape_text (text, false);
                const unsigned char *p = (const unsigned char *)escaped;
                for (size_t k = 0; p[k]; k++) {
                    if (p[k] < 0x20 || p[k] == 0x7f)
                        fail_msg ("%02x %02x %02x: control byte %02x kept", a, b, c, p[k]);
                    if (p[k] == 0xc2 && p[k + 1] >= 0x80 && p[k + 1] <= 0x9f)
                        fail_msg ("%02x %02x %02x: C1 control kept", a, b, c);
                    if (p[k] == 0xe2 && p[k + 1] == 0x80 &&
                        (p[k + 2] == 0xa8 || p[k + 2] == 0xa9 ||
                         (p[k + 2] >= 0xaa && p[k + 2] <= 0xae)))
                        fail_msg ("%02x %02x %02x: separator or bidi control kept", a, b, c);
                }
                json_t *json = json_string (escaped); /* jansson checks UTF-8 */
                if (!json)
                    fail_msg ("%02x %02x %02x: not valid UTF-8 after escaping", a, b, c);
                json_decref (json);
                free (escaped);
            }
}

/*  `policy set password_policy=...` and `call` with a bad enum name: the
 *  values offered are the ones a setting takes, never the UNSPECIFIED zero. */
static void
test_enum_errors_never_offer_unspecified (void **state)
{
    (void)state;
    ProtobufCMessage *message = NULL;
    char error[512];
    assert_int_equal (secpol_json_parse_message (&message, error, sizeof error,
                                                 &secpol__v1__policy__descriptor,
                                                 "{\"password_policy\": \"EXTREME\"}"),
                      -1);
    assert_non_null (strstr (error, "PASSWORD_POLICY_LEVEL_LOW, PASSWORD_POLICY_LEVEL_MEDIUM, "
                                    "PASSWORD_POLICY_LEVEL_HIGH)"));
    assert_null (strstr (error, "UNSPECIFIED"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_plain_text_is_kept),
        cmocka_unit_test (test_controls_are_escaped),
        cmocka_unit_test (test_invalid_utf8_is_escaped_bytewise),
        cmocka_unit_test (test_a_value_cannot_forge_a_line),
        cmocka_unit_test (test_no_input_of_up_to_three_bytes_leaks_a_control),
        cmocka_unit_test (test_enum_errors_never_offer_unspecified),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
