/* test_common_nats_url.c -- nats.url as shown in logs and errors
 * (ap_nats_url_masked, common/ap_nats.c): credentials never appear. */
#include <string.h>

#include "ap_nats.h"
#include "test.h"

static void shown(const char *url, const char *want) {
    char out[256];
    ap_nats_url_masked(url, out, sizeof(out));
    CHECK_STR_EQ(out, want);
}

static void credentials_are_masked(void) {
    shown("nats://user:s3cret@nats-1:4222", "nats://***@nats-1:4222");
    shown("nats://tok3n@127.0.0.1:4222", "nats://***@127.0.0.1:4222");
    /* A password holding '@': everything before the last one goes. */
    shown("tls://u:p@ss@host:4222", "tls://***@host:4222");
    /* No scheme: the user info is still masked. */
    shown("u:p@host:4222", "***@host:4222");
}

static void every_url_of_a_list(void) {
    shown("nats://a:1@n1:4222,nats://b:2@n2:4222, nats://n3:4222",
          "nats://***@n1:4222,nats://***@n2:4222, nats://n3:4222");
}

static void plain_urls_unchanged(void) {
    shown("nats://127.0.0.1:4222", "nats://127.0.0.1:4222");
    shown("", "");
    shown(NULL, "");
    /* An '@' after the authority is not user info. */
    shown("ws://host:80/path@x", "ws://host:80/path@x");
}

static void truncates_safely(void) {
    char out[12];
    ap_nats_url_masked("nats://user:secret@host:4222", out, sizeof(out));
    CHECK(strlen(out) == sizeof(out) - 1);
    CHECK(strstr(out, "sec") == NULL && strstr(out, "user") == NULL);
}

int main(void) {
    RUN(credentials_are_masked);
    RUN(every_url_of_a_list);
    RUN(plain_urls_unchanged);
    RUN(truncates_safely);
    return TEST_RESULT();
}
