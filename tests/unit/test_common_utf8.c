/* test_common_utf8.c -- the one UTF-8 rule (common/ap_utf8.c): RFC 3629, as
 * PostgreSQL applies it, for checks, code point counts and scrubbing. */
#include "ap_utf8.h"
#include "test.h"

static void test_valid(void) {
    CHECK(ap_utf8_valid(""));
    CHECK(ap_utf8_valid("Vi\xE1\xBB\x87t Nam \xF0\x9F\x98\x80"));
    CHECK(!ap_utf8_valid("\xC0\xAF"));         /* overlong "/" */
    CHECK(!ap_utf8_valid("\xE0\x80\xAF"));     /* overlong in three bytes */
    CHECK(!ap_utf8_valid("\xED\xA0\x80"));     /* a surrogate */
    CHECK(!ap_utf8_valid("\xF4\x90\x80\x80")); /* past U+10FFFF */
    CHECK(!ap_utf8_valid("\xE1\xBB"));         /* cut short */
    CHECK(!ap_utf8_valid("\x80"));             /* a lone continuation byte */
    CHECK(!ap_utf8_valid("\xFF"));
}

static void test_length(void) {
    CHECK(ap_utf8_length("") == 0);
    CHECK(ap_utf8_length("abc") == 3);
    CHECK(ap_utf8_length("Vi\xE1\xBB\x87t") == 4);
    CHECK(ap_utf8_length("\xF0\x9F\x98\x80") == 1);
    /* Every malformed form is refused, not counted: the three copies this
     * replaced disagreed on surrogates and bytes after a lead. */
    CHECK(ap_utf8_length("\xED\xA0\x80") == -1);
    CHECK(ap_utf8_length("a\xC3") == -1);
    CHECK(ap_utf8_length("\xC3\x28") == -1);
    CHECK(ap_utf8_length("\xC1\xBF") == -1);
}

static void test_char_len(void) {
    CHECK(ap_utf8_char_len("a") == 1);
    CHECK(ap_utf8_char_len("\xC3\xA9x") == 2);
    CHECK(ap_utf8_char_len("\xE1\xBB\x87") == 3);
    CHECK(ap_utf8_char_len("\xF0\x9F\x98\x80") == 4);
    CHECK(ap_utf8_char_len("") == 0);
    CHECK(ap_utf8_char_len("\xE1\xBB") == 0); /* cut by the NUL: not read past */
    CHECK(ap_utf8_char_len("\xED\xA0\x80") == 0);
    CHECK(ap_utf8_char_len("\x80") == 0);
}

int main(void) {
    RUN(test_valid);
    RUN(test_length);
    RUN(test_char_len);
    return TEST_RESULT();
}
