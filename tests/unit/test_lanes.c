/* test_lanes.c -- which lane's held job a publisher starts next
 * (publishers/engine/lanes.h): urgent first, normal keeps its share. */
#include "lanes.h"
#include "test.h"

static void test_urgent_cap(void) {
    CHECK(ap_lane_urgent_cap(10, 0.2) == 8);
    CHECK(ap_lane_urgent_cap(16, 0.2) == 12); /* ceil(3.2) = 4 kept for normal */
    CHECK(ap_lane_urgent_cap(4, 0.2) == 3);
    CHECK(ap_lane_urgent_cap(1, 0.2) == 1);   /* one slot: urgent still moves */
    CHECK(ap_lane_urgent_cap(10, 0.0) == 10); /* share 0: urgent may take all */
    CHECK(ap_lane_urgent_cap(10, 0.9) == 1);
    CHECK(ap_lane_urgent_cap(0, 0.2) == 0);
}

static void test_pick(void) {
    /* Nothing held. */
    CHECK(ap_lane_pick(10, 0.2, 0, false, false) == AP_LANE_N);
    /* One lane alone takes any slot. */
    CHECK(ap_lane_pick(10, 0.2, 0, false, true) == AP_LANE_NORMAL);
    CHECK(ap_lane_pick(10, 0.2, 9, true, false) == AP_LANE_URGENT);
    /* Both: urgent first, up to its cap. */
    CHECK(ap_lane_pick(10, 0.2, 0, true, true) == AP_LANE_URGENT);
    CHECK(ap_lane_pick(10, 0.2, 7, true, true) == AP_LANE_URGENT);
    CHECK(ap_lane_pick(10, 0.2, 8, true, true) == AP_LANE_NORMAL);
    CHECK(ap_lane_pick(10, 0.2, 10, true, true) == AP_LANE_NORMAL);
}

/* Filling a replica's slots from two full inboxes: urgent gets its cap,
 * normal the rest, i.e. at least its share; as slots free up the split
 * stays. */
static void test_split_under_load(void) {
    for (int conc = 1; conc <= 64; conc++) {
        int urgent = 0, normal = 0;
        for (int slot = 0; slot < conc; slot++) {
            ap_lane l = ap_lane_pick(conc, 0.2, urgent, true, true);
            CHECK(l != AP_LANE_N);
            if (l == AP_LANE_URGENT)
                urgent++;
            else
                normal++;
        }
        CHECK(urgent == ap_lane_urgent_cap(conc, 0.2));
        if (conc >= 2) CHECK(normal * 5 >= conc); /* at least 20% */
        /* A normal job ends: its slot goes back to normal (urgent at cap). */
        CHECK(ap_lane_pick(conc, 0.2, urgent, true, true) ==
              (urgent < ap_lane_urgent_cap(conc, 0.2) ? AP_LANE_URGENT : AP_LANE_NORMAL));
        /* An urgent job ends: urgent takes it back. */
        if (urgent > 0) CHECK(ap_lane_pick(conc, 0.2, urgent - 1, true, true) == AP_LANE_URGENT);
    }
}

static void test_names(void) {
    CHECK_STR_EQ(ap_lane_name(AP_LANE_URGENT), "urgent");
    CHECK_STR_EQ(ap_lane_name(AP_LANE_NORMAL), "normal");
}

int main(void) {
    RUN(test_urgent_cap);
    RUN(test_pick);
    RUN(test_split_under_load);
    RUN(test_names);
    return TEST_RESULT();
}
