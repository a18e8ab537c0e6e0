/* test_common_trace.c -- W3C traceparent parsing, checks and new spans
 * (common/ap_trace.c). */
#include <string.h>

#include "ap_trace.h"
#include "test.h"

#define GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void test_trace_parse_valid(void) {
    ap_trace t;
    CHECK(ap_trace_parse(GOOD, &t));
    CHECK_STR_EQ(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK_STR_EQ(t.span_id, "00f067aa0ba902b7");
    CHECK(t.flags == 0x01);
    CHECK(ap_trace_parse(" \t" GOOD " ", &t)); /* HTTP optional whitespace */
    CHECK(ap_trace_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &t));
    CHECK(t.flags == 0);
    /* A later version: its version-00 prefix is read, extra fields skipped. */
    CHECK(ap_trace_parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what", &t));
    CHECK(t.flags == 0x09);
    CHECK(ap_trace_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t));
}

static void test_trace_parse_invalid(void) {
    static const char *bad[] = {
        "",
        "00",
        "garbage",
        /* zero ids */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* uppercase is not HEXDIGLC */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        /* version ff is forbidden; version 00 has no extra fields */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        /* lengths and separators */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    };
    ap_trace t;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ap_trace_parse(bad[i], &t)) {
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
    CHECK(!ap_trace_parse(NULL, &t));
}

static void test_trace_start_child_format(void) {
    ap_trace a, b, c;
    char buf[AP_TRACEPARENT_LEN + 1], small[AP_TRACEPARENT_LEN];
    CHECK(ap_trace_start(&a));
    CHECK(ap_trace_id_valid(a.trace_id));
    CHECK(a.flags == AP_TRACE_FLAG_SAMPLED);
    CHECK(ap_trace_start(&b));
    CHECK(strcmp(a.trace_id, b.trace_id) != 0); /* 128 random bits */
    CHECK(ap_trace_format(&a, buf, sizeof(buf)));
    CHECK(strlen(buf) == AP_TRACEPARENT_LEN);
    CHECK(ap_trace_parse(buf, &c)); /* what we write, we read */
    CHECK_STR_EQ(c.trace_id, a.trace_id);
    CHECK_STR_EQ(c.span_id, a.span_id);
    CHECK(!ap_trace_format(&a, small, sizeof(small)));

    /* A hop keeps the trace id and makes its own span id. */
    CHECK(ap_trace_child(&a, &c));
    CHECK_STR_EQ(c.trace_id, a.trace_id);
    CHECK(strcmp(c.span_id, a.span_id) != 0);
    CHECK(ap_trace_child(&c, &c)); /* in place */
    CHECK_STR_EQ(c.trace_id, a.trace_id);

    /* Unknown flag bits are not sent on. */
    CHECK(ap_trace_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", &a));
    CHECK(ap_trace_child(&a, &c));
    CHECK(c.flags == 0x01);
    CHECK(ap_trace_format(&c, buf, sizeof(buf)));
    CHECK(strncmp(buf, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36) == 0);
    CHECK_STR_EQ(buf + 52, "-01");

    ap_trace zero = {.trace_id = "00000000000000000000000000000000", .span_id = "00f067aa0ba902b7"};
    CHECK(!ap_trace_format(&zero, buf, sizeof(buf)));
    CHECK(!ap_trace_child(&zero, &c));
}

static void test_trace_continue(void) {
    ap_trace t;
    CHECK(ap_trace_continue(GOOD, &t) == AP_TRACE_CONTINUED);
    CHECK_STR_EQ(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(strcmp(t.span_id, "00f067aa0ba902b7") != 0);
    CHECK(ap_trace_continue(NULL, &t) == AP_TRACE_STARTED);
    CHECK(ap_trace_id_valid(t.trace_id));
    CHECK(ap_trace_continue("00-zz", &t) == AP_TRACE_STARTED);
    CHECK(strcmp(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736") != 0);
    CHECK(!ap_trace_id_valid("4BF92F3577B34DA6A3CE929D0E0E4736"));
    CHECK(!ap_trace_id_valid("4bf92f3577b34da6a3ce929d0e0e47"));
    CHECK(!ap_trace_id_valid(NULL));
}

int main(void) {
    RUN(test_trace_parse_valid);
    RUN(test_trace_parse_invalid);
    RUN(test_trace_start_child_format);
    RUN(test_trace_continue);
    return TEST_RESULT();
}
