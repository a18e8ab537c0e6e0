/* lanes.c -- the lane rule (lanes.h). The share is of slots, not of calls:
 * with equally long calls the completions follow the slots, which is what
 * tests/e2e/test_urgent_lane.sh counts. */
#include "lanes.h"

const char *ap_lane_name(ap_lane lane) { return lane == AP_LANE_URGENT ? "urgent" : "normal"; }

int ap_lane_urgent_cap(int concurrency, double normal_share) {
    if (concurrency < 1) return 0;
    /* ceil(share x concurrency), a hair of float error forgiven (0.2 x 10) */
    double want = normal_share * (double)concurrency - 1e-9;
    int reserved = want <= 0 ? 0 : (int)want;
    if (want > 0 && (double)reserved < want) reserved++;
    int cap = concurrency - reserved;
    return cap < 1 ? 1 : cap;
}

ap_lane ap_lane_pick(int concurrency, double normal_share, int urgent_active, bool urgent_waiting,
                     bool normal_waiting) {
    if (urgent_waiting &&
        (!normal_waiting || urgent_active < ap_lane_urgent_cap(concurrency, normal_share)))
        return AP_LANE_URGENT;
    return normal_waiting ? AP_LANE_NORMAL : AP_LANE_N;
}
