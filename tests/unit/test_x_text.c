/* test_x_text.c -- X's weighted length (publishers/platforms/x_text.c): the numbers a
 * post must meet before the X adapter sends it. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "x_text.h"

/* n copies of unit (a UTF-8 string), malloc'ed. */
static char *repeat(const char *unit, size_t n) {
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

static long weight_of_repeat(const char *unit, size_t n) {
    char *s = repeat(unit, n);
    long w = ap_x_weighted_length(s);
    free(s);
    return w;
}

static void test_latin_limit(void) {
    CHECK(weight_of_repeat("a", 280) == 280);
    CHECK(weight_of_repeat("a", 281) == 281);
    CHECK(weight_of_repeat("a", 281) > AP_X_MAX_WEIGHTED);
    CHECK(ap_x_weighted_length("") == 0);
    /* Typographic quotes and dashes are in the light ranges. */
    CHECK(ap_x_weighted_length("\xE2\x80\x9C"
                               "a"
                               "\xE2\x80\x9D"
                               "\xE2\x80\x94") == 4);
}

static void test_vietnamese(void) {
    /* T i ế n g _ V i ệ t _ c ó _ d ấ u: ế ệ ấ (U+1EBF, U+1EC7, U+1EA5) weigh 2,
     * ó (U+00F3) is in U+0000-U+10FF and weighs 1: 17 characters, 20. */
    CHECK(ap_x_weighted_length("Ti\xE1\xBA\xBFng Vi\xE1\xBB\x87t c\xC3\xB3 d\xE1\xBA\xA5u") == 20);
    /* 140 letters with tone marks fill a post exactly; one more is over. */
    CHECK(weight_of_repeat("\xE1\xBB\x87", 140) == 280);
    CHECK(weight_of_repeat("\xE1\xBB\x87", 141) == 282);
    CHECK(weight_of_repeat("\xE1\xBB\x87", 139) + 1 == 279); /* + "a" would be 279 */
}

static void test_nfc_first(void) {
    /* "ế" precomposed U+1EBF vs e + U+0302 + U+0301: without NFC the second
     * would be three light code points (3) instead of one heavy letter (2). */
    const char *pre = "Ti\xE1\xBA\xBFng";
    const char *dec = "Tie\xCC\x82\xCC\x81ng";
    CHECK(ap_x_weighted_length(pre) == 6);
    CHECK(ap_x_weighted_length(dec) == ap_x_weighted_length(pre));
    char *nfc = ap_x_nfc(dec);
    CHECK_STR_EQ(nfc, pre);
    free(nfc);
}

static void test_urls(void) {
    char *long_url = malloc(400);
    strcpy(long_url, "https://example.com/");
    memset(long_url + 20, 'p', 300);
    long_url[320] = '\0';
    CHECK(ap_x_weighted_length(long_url) == 23);
    CHECK(ap_x_weighted_length("http://a.co") == 23);
    CHECK(ap_x_weighted_length("Read https://example.com/a?b=c") == 5 + 23);
    CHECK(ap_x_weighted_length("https://vi.wikipedia.org/wiki/Ti\xE1\xBA\xBFng_Vi\xE1\xBB\x87t") ==
          23);
    /* Trailing punctuation is not part of the URL. */
    CHECK(ap_x_weighted_length("see example.com.") == 4 + 23 + 1);
    CHECK(ap_x_weighted_length("(https://example.com/a)") == 1 + 23 + 1);
    /* Bare domains: generic TLDs count, e-mail addresses do not. */
    CHECK(ap_x_weighted_length("example.com") == 23);
    CHECK(ap_x_weighted_length("user@example.com") == 16);
    /* Country TLDs need a sub-domain or a path (twitter-text), .co/.tv not. */
    CHECK(ap_x_weighted_length("tuoitre.vn") == 10);
    CHECK(ap_x_weighted_length("www.tuoitre.vn") == 23);
    CHECK(ap_x_weighted_length("tuoitre.vn/a") == 23);
    CHECK(ap_x_weighted_length("x.co") == 23);
    /* Not URLs: no TLD, a file name, a version. */
    CHECK(ap_x_weighted_length("http://localhost") == 16);
    CHECK(ap_x_weighted_length("v1.2.3") == 6);
    /* 10 URLs of any length and a little text. */
    char *many = repeat("https://example.com/very/long/path/abcdefghijklmnopqrstuvwxyz ", 10);
    CHECK(ap_x_weighted_length(many) == 10 * 24);
    CHECK(ap_x_find_urls(many, strlen(many), NULL, NULL) == 10);
    free(many);
    free(long_url);
    /* 256 letters, a space and a URL: 280 exactly. */
    char *edge = malloc(400);
    memset(edge, 'a', 256);
    strcpy(edge + 256, " https://example.com/abcdefghijklmnopqrstuvwxyz");
    CHECK(ap_x_weighted_length(edge) == 280);
    edge[0] = '\0';
    free(edge);
}

static void test_emoji(void) {
    CHECK(ap_x_weighted_length("\xF0\x9F\x91\x8D") == 2);                 /* thumbs up */
    CHECK(ap_x_weighted_length("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD") == 2); /* + skin tone */
    /* man ZWJ woman ZWJ girl: one sequence */
    CHECK(ap_x_weighted_length("\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F"
                               "\x91\xA7") == 2);
    CHECK(ap_x_weighted_length("\xF0\x9F\x87\xBB\xF0\x9F\x87\xB3") == 2); /* flag VN */
    CHECK(ap_x_weighted_length("1\xEF\xB8\x8F\xE2\x83\xA3") == 2);        /* keycap 1 */
    CHECK(ap_x_weighted_length("\xE2\x9D\xA4\xEF\xB8\x8F") == 2);         /* red heart + VS16 */
    CHECK(ap_x_weighted_length("\xC2\xA9") == 1);                         /* (c) as text */
    CHECK(ap_x_weighted_length("\xC2\xA9\xEF\xB8\x8F") == 2);             /* (c) as emoji */
    CHECK(ap_x_weighted_length("ok \xF0\x9F\x91\x8D\xF0\x9F\x91\x8D") == 3 + 4);
    CHECK(weight_of_repeat("\xF0\x9F\x98\x80", 140) == 280);
    CHECK(weight_of_repeat("\xF0\x9F\x98\x80", 141) == 282);
}

static void test_other_scripts(void) {
    CHECK(ap_x_weighted_length("\xE4\xBD\xA0\xE5\xA5\xBD") == 4); /* CJK */
    CHECK(ap_x_weighted_length("\xD0\x9F\xD1\x80\xD0\xB8") == 3); /* Cyrillic: light */
}

static void test_invalid_utf8(void) {
    CHECK(ap_x_weighted_length("abc\xFF") == -1);
    CHECK(ap_x_weighted_length("\xE1\xBA") == -1);
    CHECK(ap_x_nfc("\xC0\x80") == NULL);
}

int main(void) {
    RUN(test_latin_limit);
    RUN(test_vietnamese);
    RUN(test_nfc_first);
    RUN(test_urls);
    RUN(test_emoji);
    RUN(test_other_scripts);
    RUN(test_invalid_utf8);
    return TEST_RESULT();
}
