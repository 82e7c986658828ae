/*  test_log.c - logfmt values: no client value can end its line, forge
 *  another, or send a terminal a control sequence (secpol_log_quote). */
#include "log.h"
#include "text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static const char *
s_quote (const char *s)
{
    static char buf[512];
    return secpol_log_quote (buf, sizeof buf, s);
}

/*  What a terminal or a line-based reader could act on: a C0 or DEL byte,
 *  a C1 control, U+2028/U+2029, or bytes that are not UTF-8. NULL when the
 *  text has none of them. */
static const char *
s_unsafe (const char *text)
{
    size_t n = strlen (text);
    for (size_t i = 0; i < n;) {
        uint32_t code_point;
        size_t length = secpol_utf8_next (text + i, n - i, &code_point);
        if (!length)
            return "invalid UTF-8";
        if (secpol_text_is_control (code_point))
            return "a control character";
        if (code_point == 0x2028 || code_point == 0x2029)
            return "a line or paragraph separator";
        i += length;
    }
    return NULL;
}

static void
test_plain_values_stay_bare (void **state)
{
    (void)state;
    assert_string_equal (s_quote ("w-1"), "w-1");
    assert_string_equal (s_quote ("/secpol.v1.Health/Check"), "/secpol.v1.Health/Check");
    assert_string_equal (s_quote ("tcp://127.0.0.1:7420"), "tcp://127.0.0.1:7420");
}

static void
test_empty_spaces_quotes_and_equals_are_quoted (void **state)
{
    (void)state;
    assert_string_equal (s_quote (""), "\"\"");
    assert_string_equal (s_quote (NULL), "\"\"");
    assert_string_equal (s_quote ("a b"), "\"a b\"");
    assert_string_equal (s_quote ("a=b"), "\"a=b\"");
    assert_string_equal (s_quote ("say \"hi\""), "\"say \\\"hi\\\"\"");
    assert_string_equal (s_quote ("C:\\dir"), "\"C:\\\\dir\"");
}

static void
test_c0_controls_and_del_are_escaped (void **state)
{
    (void)state;
    assert_string_equal (s_quote ("a\nb"), "\"a\\nb\"");
    assert_string_equal (s_quote ("a\rb"), "\"a\\rb\"");
    assert_string_equal (s_quote ("a\tb"), "\"a\\tb\"");
    assert_string_equal (s_quote ("\x01"), "\"\\x01\"");
    assert_string_equal (s_quote ("\x1b[2J"), "\"\\x1b[2J\""); /* ESC: clear screen */
    assert_string_equal (s_quote ("\x1f"), "\"\\x1f\"");
    assert_string_equal (s_quote ("a\x7f"), "\"a\\x7f\"");
    /* every C0 byte and DEL, one at a time */
    for (int c = 1; c < 0x80; c++) {
        if (c >= 0x20 && c < 0x7f)
            continue;
        char in[2] = {(char)c, 0};
        const char *out = s_quote (in);
        assert_null (s_unsafe (out));
        assert_true (strlen (out) >= 4); /* "\n" or "\xHH" */
    }
}

static void
test_c1_controls_are_escaped (void **state)
{
    (void)state;
    assert_string_equal (s_quote ("\xc2\x80"), "\"\\u0080\"");
    assert_string_equal (s_quote ("a\xc2\x85z"), "\"a\\u0085z\""); /* NEL: a line break */
    assert_string_equal (s_quote ("\xc2\x9b"
                                  "31m"),
                         "\"\\u009b31m\""); /* CSI: colours */
    assert_string_equal (s_quote ("\xc2\x9f"), "\"\\u009f\"");
    /* U+00A0, the first code point past C1, is text */
    assert_string_equal (s_quote ("\xc2\xa0"), "\"\xc2\xa0\"");
}

static void
test_line_and_paragraph_separators_are_escaped (void **state)
{
    (void)state;
    assert_string_equal (s_quote ("a\xe2\x80\xa8z"), "\"a\\u2028z\"");
    assert_string_equal (s_quote ("a\xe2\x80\xa9z"), "\"a\\u2029z\"");
    /* neighbours are text */
    assert_string_equal (s_quote ("\xe2\x80\xa7"), "\"\xe2\x80\xa7\"");
}

static void
test_bidirectional_controls_are_escaped (void **state)
{
    (void)state;
    assert_string_equal (s_quote ("a\xe2\x80\xaez"), "\"a\\u202ez\""); /* RLO */
    assert_string_equal (s_quote ("\xe2\x81\xa6"), "\"\\u2066\"");     /* LRI */
    assert_string_equal (s_quote ("\xe2\x80\x8f"), "\"\\u200f\"");     /* RLM */
}

static void
test_valid_utf8_text_is_kept (void **state)
{
    (void)state;
    assert_string_equal (s_quote ("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
    assert_string_equal (s_quote ("\xe6\x97\xa5\xe6\x9c\xac"), "\"\xe6\x97\xa5\xe6\x9c\xac\"");
    assert_string_equal (s_quote ("\xf0\x9f\x94\x91"), "\"\xf0\x9f\x94\x91\"");
}

static void
test_invalid_utf8_bytes_are_escaped_one_by_one (void **state)
{
    (void)state;
    assert_string_equal (s_quote ("\x80"), "\"\\x80\""); /* stray continuation */
    assert_string_equal (s_quote ("a\x9b"
                                  "31m"),
                         "\"a\\x9b31m\""); /* 8-bit CSI */
    assert_string_equal (s_quote ("\xff\xfe"), "\"\\xff\\xfe\"");
    assert_string_equal (s_quote ("\xc0\xaf"), "\"\\xc0\\xaf\"");          /* overlong "/" */
    assert_string_equal (s_quote ("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\""); /* surrogate */
    assert_string_equal (s_quote ("x\xe2\x80"), "\"x\\xe2\\x80\"");        /* cut short */
    /* an invalid lead byte does not swallow the valid text after it */
    assert_string_equal (s_quote ("\xe2\xc3\xa9"), "\"\\xe2\xc3\xa9\"");
}

static void
test_a_forged_line_stays_inside_its_value (void **state)
{
    (void)state;
    const char *forged = "r1\nts=2026-11-28T05:08:12.891Z level=error msg=forged\r\xe2\x80\xa8";
    const char *out = s_quote (forged);
    assert_null (strchr (out, '\n'));
    assert_null (strchr (out, '\r'));
    assert_null (s_unsafe (out));
    assert_int_equal (out[0], '"');
    assert_int_equal (out[strlen (out) - 1], '"');
}

/*  Every string of one or two bytes, and every three-byte string that
 *  starts E2 80 (U+2000-U+203F and broken ones): the output is safe and
 *  quoted whenever the input is not plain. */
static void
test_no_short_input_gets_through (void **state)
{
    (void)state;
    for (int a = 1; a < 256; a++)
        for (int b = 0; b < 256; b++) {
            char in[3] = {(char)a, (char)b, 0};
            const char *out = s_quote (in);
            if (s_unsafe (out)) {
                fail_msg ("%02x %02x gave %s: %s", a, b, out, s_unsafe (out));
            }
        }
    for (int c = 1; c < 256; c++) {
        char in[4] = {(char)0xe2, (char)0x80, (char)c, 0};
        const char *out = s_quote (in);
        if (s_unsafe (out))
            fail_msg ("e2 80 %02x gave %s: %s", c, out, s_unsafe (out));
    }
}

static void
test_a_long_value_is_cut_between_characters (void **state)
{
    (void)state;
    char buf[20];
    secpol_log_quote (buf, sizeof buf, "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n");
    assert_true (strlen (buf) < sizeof buf);
    assert_string_equal (buf, "\"\\n\\n\\n\\n\\n\\n\\n...\"");
    /* a bare value too long for the buffer is quoted and marked */
    secpol_log_quote (buf, sizeof buf, "abcdefghijklmnopqrstuvwxyz");
    assert_string_equal (buf, "\"abcdefghijklmn...\"");
    /* a multi-byte character is never cut */
    secpol_log_quote (buf, 10, "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5");
    assert_string_equal (buf, "\"\xe6\x97\xa5...\"");
    assert_null (s_unsafe (buf));
    /* what fits exactly is not marked */
    secpol_log_quote (buf, 8, "a b c");
    assert_string_equal (buf, "\"a b c\"");
    /* too small for any value */
    secpol_log_quote (buf, 5, "abcdefgh");
    assert_string_equal (buf, "\"\"");
    secpol_log_quote (buf, 1, "abc");
    assert_string_equal (buf, "");
}

/*  The line secpol_log writes: a msg with a newline stays on one line. */
static void
test_a_log_line_is_one_line (void **state)
{
    (void)state;
    char path[] = "/tmp/secpol-test-log-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    unlink (path);
    fflush (stderr);
    int saved = dup (2);
    assert_true (saved >= 0);
    dup2 (fd, 2);
    char quoted[64];
    secpol_log (SECPOL_LOG_WARN, "two\nlines", "value=%s",
                secpol_log_quote (quoted, sizeof quoted, "x\nlevel=error msg=forged"));
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    char line[512] = "";
    ssize_t got = pread (fd, line, sizeof line - 1, 0);
    close (fd);
    assert_true (got > 0);
    line[got] = '\0';
    assert_non_null (strstr (line, " level=warn msg=\"two\\nlines\" value=\"x\\nlevel=error "
                                   "msg=forged\"\n"));
    assert_ptr_equal (strchr (line, '\n'), line + got - 1);
}

/*  Held lines (the WRITE lane's batch) are written only at the release, in
 *  order, each whole; more than the hold's buffer takes goes out too. */
static void
test_held_lines_come_out_whole_at_the_release (void **state)
{
    (void)state;
    char path[] = "/tmp/secpol-test-log-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    unlink (path);
    fflush (stderr);
    int saved = dup (2);
    assert_true (saved >= 0);
    dup2 (fd, 2);
    const int n = 2000; /* about 100 KiB of lines: the buffer fills more than once */
    secpol_log_hold ();
    secpol_log (SECPOL_LOG_WARN, "held", "n=%d", 0);
    off_t before_release = lseek (fd, 0, SEEK_END);
    for (int i = 1; i < n; i++)
        secpol_log (SECPOL_LOG_WARN, "held", "n=%d", i);
    secpol_log_release ();
    secpol_log (SECPOL_LOG_WARN, "after", NULL);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    assert_int_equal (before_release, 0); /* nothing written while held */
    off_t size = lseek (fd, 0, SEEK_END);
    char *text = malloc ((size_t)size + 1);
    assert_non_null (text);
    assert_int_equal (pread (fd, text, (size_t)size, 0), size);
    close (fd);
    text[size] = '\0';
    int next = 0;
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
        char want[64];
        if (next < n)
            snprintf (want, sizeof want, " level=warn msg=held n=%d", next);
        else
            snprintf (want, sizeof want, " level=warn msg=after");
        assert_non_null (strstr (line, want));
        assert_string_equal (strstr (line, want), want); /* the whole line, nothing after */
        next++;
    }
    assert_int_equal (next, n + 1);
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_plain_values_stay_bare),
        cmocka_unit_test (test_empty_spaces_quotes_and_equals_are_quoted),
        cmocka_unit_test (test_c0_controls_and_del_are_escaped),
        cmocka_unit_test (test_c1_controls_are_escaped),
        cmocka_unit_test (test_line_and_paragraph_separators_are_escaped),
        cmocka_unit_test (test_bidirectional_controls_are_escaped),
        cmocka_unit_test (test_valid_utf8_text_is_kept),
        cmocka_unit_test (test_invalid_utf8_bytes_are_escaped_one_by_one),
        cmocka_unit_test (test_a_forged_line_stays_inside_its_value),
        cmocka_unit_test (test_no_short_input_gets_through),
        cmocka_unit_test (test_a_long_value_is_cut_between_characters),
        cmocka_unit_test (test_a_log_line_is_one_line),
        cmocka_unit_test (test_held_lines_come_out_whole_at_the_release),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
