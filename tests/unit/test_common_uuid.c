/* test_common_uuid.c -- UUID text checks and version 7 ids (common/ap_uuid.c). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ap_uuid.h"
#include "test.h"

static void test_uuid_valid(void) {
    CHECK(ap_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    CHECK(ap_uuid_valid("00000000-0000-0000-0000-000000000000"));
    CHECK(!ap_uuid_valid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    CHECK(!ap_uuid_valid("0f8fad5bd9cb469fa16570867728950e"));      /* no dashes */
    CHECK(!ap_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950"));   /* 35 */
    CHECK(!ap_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950e0")); /* 37 */
    CHECK(!ap_uuid_valid("0f8fad5b-d9cb-469f-a165_70867728950e"));
    CHECK(!ap_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950g"));
    CHECK(!ap_uuid_valid("{0f8fad5b-d9cb-469f-a165-70867728950}"));
    CHECK(!ap_uuid_valid(""));
    CHECK(!ap_uuid_valid(NULL));
}

static void test_uuid_normalize_and_v7(void) {
    char id[37];
    CHECK(ap_uuid_normalize("0E8CD25A-4EA1-49D1-A3F0-0BE633296B0C", id));
    CHECK_STR_EQ(id, "0e8cd25a-4ea1-49d1-a3f0-0be633296b0c");
    CHECK(!ap_uuid_normalize("nope", id));
    CHECK(!ap_uuid_normalize("0e8cd25a4ea149d1a3f00be633296b0c", id));
    CHECK(!ap_uuid_normalize("0e8cd25a-4ea1-49d1-a3f0-0be633296b0c0", id));
    CHECK(!ap_uuid_normalize(NULL, id));

    /* Version 7: the timestamp leads, then the counter, so ids sort in
     * the order they were drawn. */
    char a[37], b[37], prev[37] = "";
    int64_t ms = INT64_C(1795831200123);
    CHECK(ap_uuid_v7(a, ms, 0x12345678));
    CHECK(ap_uuid_valid(a));
    char ts[13];
    snprintf(ts, sizeof(ts), "%012llx", (unsigned long long)ms);
    CHECK(strncmp(a, ts, 8) == 0 && strncmp(a + 9, ts + 8, 4) == 0);
    CHECK(a[14] == '7');                  /* version */
    CHECK(strchr("89ab", a[19]) != NULL); /* variant */
    CHECK(ap_uuid_v7(b, ms, 0x12345678));
    CHECK(strcmp(a, b) != 0); /* random tail */
    for (uint32_t n = 0x7FFFFF00u; n < 0x80000100u; n++) {
        CHECK(ap_uuid_v7(a, ms, n));
        CHECK(strcmp(prev, a) < 0);
        memcpy(prev, a, sizeof(a));
    }
    CHECK(ap_uuid_v7(b, ms + 1, 0));
    CHECK(strcmp(a, b) < 0); /* a later millisecond sorts after any counter */
}

int main(void) {
    RUN(test_uuid_valid);
    RUN(test_uuid_normalize_and_v7);
    return TEST_RESULT();
}
