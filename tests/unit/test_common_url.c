/* test_common_url.c -- the link/media URL rule (common/ap_url.c) that
 * autopostctl and the publisher's adapters share. */
#include <string.h>

#include "ap_url.h"
#include "test.h"

static void test_accepted(void) {
    CHECK(ap_url_check("https://example.com/a.jpg") == AP_URL_OK);
    CHECK(ap_url_check("http://example.com") == AP_URL_OK);
    CHECK(ap_url_check("HTTPS://EXAMPLE.COM/x?y=1#z") == AP_URL_OK);
    CHECK(ap_url_check("https://example.com/caf\xC3\xA9") == AP_URL_OK);
}

static void test_refused(void) {
    CHECK(ap_url_check(NULL) == AP_URL_BAD_SCHEME);
    CHECK(ap_url_check("ftp://example.com/a.jpg") == AP_URL_BAD_SCHEME);
    CHECK(ap_url_check("javascript:alert(1)") == AP_URL_BAD_SCHEME);
    CHECK(ap_url_check("example.com/a.jpg") == AP_URL_BAD_SCHEME);
    CHECK(ap_url_check("https://") == AP_URL_NO_HOST);
    CHECK(ap_url_check("http:///path") == AP_URL_NO_HOST);
    CHECK(ap_url_check("https://?q") == AP_URL_NO_HOST);
    CHECK(ap_url_check("https://exa mple.com") == AP_URL_CONTROL_CHAR);
    CHECK(ap_url_check("https://example.com/\n") == AP_URL_CONTROL_CHAR);
    CHECK(ap_url_check("https://example.com/\x7f") == AP_URL_CONTROL_CHAR);
    CHECK(ap_url_check("https://example.com/\xC0\xAF") == AP_URL_NOT_UTF8);
}

static void test_length_limit(void) {
    char url[AP_URL_MAX + 2];
    memset(url, 'a', sizeof(url));
    memcpy(url, "https://", 8);
    url[AP_URL_MAX] = '\0';
    CHECK(ap_url_check(url) == AP_URL_OK);
    url[AP_URL_MAX] = 'a';
    url[AP_URL_MAX + 1] = '\0';
    CHECK(ap_url_check(url) == AP_URL_TOO_LONG);
}

int main(void) {
    RUN(test_accepted);
    RUN(test_refused);
    RUN(test_length_limit);
    return TEST_RESULT();
}
