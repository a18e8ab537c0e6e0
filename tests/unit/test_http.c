/* test_http.c -- request/response value helpers (publishers/http.c): form
 * encoding, Retry-After, header lookup. No transfer is made. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "test.h"

/* 2026-11-28T09:00:00Z, the "now" for Retry-After dates. */
#define NOW_MS 1795856400000LL

static void check_form(const char *const *pairs, const char *want) {
    char *got = ap_http_form(pairs);
    CHECK_STR_EQ(got, want);
    free(got);
}

static void test_form_escapes_values(void) {
    const char *spaces[] = {"message", "hello world", NULL};
    check_form(spaces, "message=hello%20world");
    const char *reserved[] = {"q", "a&b=c?d/e#f+g%h", NULL};
    check_form(reserved, "q=a%26b%3Dc%3Fd%2Fe%23f%2Bg%25h");
    const char *utf8[] = {"m", "Việt ✓", NULL};
    check_form(utf8, "m=Vi%E1%BB%87t%20%E2%9C%93");
    const char *unreserved[] = {"k", "AZaz09-._~", NULL};
    check_form(unreserved, "k=AZaz09-._~");
    const char *newline[] = {"caption", "a\nb", NULL};
    check_form(newline, "caption=a%0Ab");
}

static void test_form_joins_and_skips_null(void) {
    const char *pairs[] = {"a", "1", "skip", NULL, "b", "", "c", "3", NULL};
    check_form(pairs, "a=1&b=&c=3");
    const char *first_null[] = {"skip", NULL, "b", "2", NULL};
    check_form(first_null, "b=2");
    const char *none[] = {NULL};
    check_form(none, "");
    const char *all_null[] = {"x", NULL, NULL};
    check_form(all_null, "");
}

static void test_form_grows_past_initial_buffer(void) {
    size_t n = 5000;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    const char *pairs[] = {"a", "x", "message", big, "z", "y", NULL};
    char *got = ap_http_form(pairs);
    CHECK(got != NULL);
    if (got) {
        CHECK(strlen(got) == strlen("a=x&message=") + 3 * n + strlen("&z=y"));
        CHECK(strncmp(got, "a=x&message=%20%20", 18) == 0);
        CHECK(strcmp(got + strlen(got) - 4, "&z=y") == 0);
    }
    free(got);
    free(big);
}

static void test_urlencode(void) {
    char *s = ap_http_urlencode("a b&c");
    CHECK_STR_EQ(s, "a%20b%26c");
    free(s);
    s = ap_http_urlencode("");
    CHECK_STR_EQ(s, "");
    free(s);
}

static void test_retry_after_seconds(void) {
    CHECK(ap_http_retry_after_ms("120", NOW_MS) == 120000);
    CHECK(ap_http_retry_after_ms(" 5 ", NOW_MS) == 5000);
    CHECK(ap_http_retry_after_ms("0", NOW_MS) == 0);
    CHECK(ap_http_retry_after_ms("604800", NOW_MS) == 604800000LL); /* a week: the cap */
    CHECK(ap_http_retry_after_ms("604801", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("99999999999999999999999", NOW_MS) == -1);
}

static void test_retry_after_http_date(void) {
    /* 90 s after NOW_MS. */
    CHECK(ap_http_retry_after_ms("Sat, 28 Nov 2026 09:01:30 GMT", NOW_MS) == 90000);
    CHECK(ap_http_retry_after_ms("Sat, 28 Nov 2026 09:01:30 GMT", NOW_MS + 500) == 89500);
    /* In the past: retry now, not a negative wait. */
    CHECK(ap_http_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NOW_MS) == 0);
    CHECK(ap_http_retry_after_ms("Thu, 01 Jan 1960 00:00:00 GMT", NOW_MS) <= 0);
}

static void test_retry_after_far_future_date(void) {
    /* Same week's ceiling as delta seconds. */
    CHECK(ap_http_retry_after_ms("Sat, 05 Dec 2026 09:00:00 GMT", NOW_MS) == 604800000LL);
    CHECK(ap_http_retry_after_ms("Sat, 05 Dec 2026 09:00:01 GMT", NOW_MS) == -1);
    /* Found by fuzz_retry_after: curl accepts year 888888883, and the
     * conversion to milliseconds overflowed (UBSan). */
    CHECK(ap_http_retry_after_ms("Nov \022 888888883 6", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", NOW_MS) == -1);
}

static void test_retry_after_garbage(void) {
    CHECK(ap_http_retry_after_ms(NULL, NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("   ", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("soon", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("12abc", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("1.5", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("-5", NOW_MS) == -1);
}

static void test_response_header_lookup(void) {
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.headers[0].name = strdup("Retry-After");
    res.headers[0].value = strdup("30");
    res.headers[1].name = strdup("x-business-use-case-usage");
    res.headers[1].value = strdup("{}");
    res.nheaders = 2;
    res.body = strdup("{}");
    res.body_len = 2;
    CHECK_STR_EQ(ap_http_response_header(&res, "retry-after"), "30");
    CHECK_STR_EQ(ap_http_response_header(&res, "RETRY-AFTER"), "30");
    CHECK_STR_EQ(ap_http_response_header(&res, "X-Business-Use-Case-Usage"), "{}");
    CHECK(ap_http_response_header(&res, "Retry-After-Ms") == NULL);
    CHECK(ap_http_response_header(&res, "location") == NULL);
    ap_http_response_clear(&res);
    CHECK(res.nheaders == 0 && res.body == NULL);
    CHECK(ap_http_response_header(&res, "retry-after") == NULL);
}

static void test_request_headers(void) {
    ap_http_request req;
    ap_http_request_init(&req, "POST");
    CHECK_STR_EQ(req.method, "POST");
    CHECK(req.url == NULL && req.body == NULL && req.nheaders == 0);
    for (int i = 0; i < AP_HTTP_MAX_HEADERS; i++)
        CHECK(ap_http_request_add_header(&req, "X-N", "v") == 0);
    CHECK(ap_http_request_add_header(&req, "X-Full", "v") == -1);
    CHECK(req.nheaders == AP_HTTP_MAX_HEADERS);
    req.url = strdup("https://example.com/");
    req.body = strdup("a=1");
    req.body_len = 3;
    ap_http_request_clear(&req);
    CHECK(req.nheaders == 0 && req.url == NULL && req.body == NULL);
    CHECK_STR_EQ(req.method, "POST"); /* kept for a retry of the same call */
}

int main(void) {
    RUN(test_form_escapes_values);
    RUN(test_form_joins_and_skips_null);
    RUN(test_form_grows_past_initial_buffer);
    RUN(test_urlencode);
    RUN(test_retry_after_seconds);
    RUN(test_retry_after_http_date);
    RUN(test_retry_after_far_future_date);
    RUN(test_retry_after_garbage);
    RUN(test_response_header_lookup);
    RUN(test_request_headers);
    return TEST_RESULT();
}
