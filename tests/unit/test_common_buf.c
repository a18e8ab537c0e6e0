/* test_common_buf.c -- the growable byte buffer (common/ap_buf.c). */
#include <string.h>

#include "ap_buf.h"
#include "test.h"

static void test_append_and_growth(void) {
    ap_buf b = {0};
    CHECK(ap_buf_append(&b, "", 0));
    CHECK(b.data != NULL && b.len == 0 && b.data[0] == '\0'); /* "" rather than NULL */
    /* Growth across many appends keeps every byte. */
    for (int i = 0; i < 10000; i++) CHECK(ap_buf_append(&b, "0123456789", 10));
    CHECK(b.len == 100000);
    CHECK(b.data[99999] == '9' && b.data[100000] == '\0');
    CHECK(!ap_buf_failed(&b));
    ap_buf_free(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    ap_buf_free(&b); /* twice is harmless */
    ap_buf_free(NULL);
}

static void test_puts_printf(void) {
    ap_buf b = {0};
    CHECK(ap_buf_puts(&b, "count"));
    CHECK(ap_buf_printf(&b, " %d %s\n", 42, "ok"));
    CHECK_STR_EQ(b.data, "count 42 ok\n");
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(ap_buf_printf(&b, "[%s]", big)); /* past the first allocation */
    CHECK(b.len == strlen("count 42 ok\n") + 2 + sizeof(big) - 1);
    CHECK(b.data[b.len - 1] == ']' && b.data[b.len] == '\0');
    ap_buf_free(&b);
}

static void test_failure_is_sticky(void) {
    ap_buf b = {0};
    CHECK(ap_buf_puts(&b, "kept"));
    /* A size that cannot be allocated marks the buffer failed... */
    CHECK(!ap_buf_append(&b, "x", (size_t)-1 / 2));
    CHECK(ap_buf_failed(&b));
    /* ...and later appends do nothing, so one check at the end suffices. */
    CHECK(!ap_buf_puts(&b, "more"));
    CHECK_STR_EQ(b.data, "kept");
    ap_buf_free(&b);
    CHECK(!ap_buf_failed(&b));
}

int main(void) {
    RUN(test_append_and_growth);
    RUN(test_puts_printf);
    RUN(test_failure_is_sticky);
    return TEST_RESULT();
}
