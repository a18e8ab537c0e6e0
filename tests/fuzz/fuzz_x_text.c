/* fuzz_x_text.c -- libFuzzer target: X's weighted length (publishers/platforms/x_text.c)
 * and LinkedIn's little-text escaping see whatever users type.
 *
 * Invariants: -1 exactly when the input is not UTF-8; otherwise between 0
 * and 2 per code point of the NFC form (a URL never weighs more than its
 * characters would, unless shorter than 23); URLs found are in bounds, in
 * order and do not overlap; escaping then unescaping gives the input back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "linkedin.h"
#include "x_text.h"

typedef struct url_check {
    size_t n, last_end;
} url_check;

static void on_url(size_t start, size_t len, void *ud) {
    url_check *c = ud;
    if (len == 0 || start < c->last_end || start + len > c->n) abort();
    c->last_end = start + len;
}

static void check_escape(const char *s) {
    char *e = ap_linkedin_escape(s);
    if (e == NULL) return;
    size_t j = 0;
    for (const char *p = e; *p; p++) {
        if (*p == '\\') {
            p++;
            if (*p == '\0' || strchr("()[]{}<>@|~_*\\", *p) == NULL) abort();
        } else if (strchr("()[]{}<>@|~_*", *p) != NULL) {
            abort(); /* a reserved character left bare */
        }
        if (*p != s[j++]) abort();
    }
    if (s[j] != '\0') abort();
    free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (s == NULL) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    size_t n = strlen(s); /* the text ends at the first NUL, as in a job */
    bool utf8 = u8_check((const uint8_t *)s, n) == NULL;
    long w = ap_x_weighted_length(s);
    if (!utf8 && w != -1) abort();
    char *nfc = ap_x_nfc(s);
    if (utf8 && nfc != NULL) {
        size_t cps = u8_mbsnlen((const uint8_t *)nfc, strlen(nfc));
        size_t urls = ap_x_find_urls(nfc, strlen(nfc), NULL, NULL);
        if (w < 0 || (size_t)w > 2 * cps + 23 * urls) abort();
        url_check c = {strlen(nfc), 0};
        if (ap_x_find_urls(nfc, strlen(nfc), on_url, &c) != urls) abort();
    }
    free(nfc);
    check_escape(s);
    free(s);
    return 0;
}
