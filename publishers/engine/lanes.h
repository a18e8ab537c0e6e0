/* lanes.h -- which held job a publisher replica starts next: the urgent
 * lane's or the normal lane's (README "Urgent lane").
 *
 * Each platform has two durable consumers on AUTOPOST_JOBS,
 * publisher-<platform> (autopost.jobs.<platform>) and
 * publisher-<platform>-urgent (autopost.jobs.<platform>.urgent). A replica
 * pulls from both with a fetch thread each into an inbox each (fetch.c), so
 * an urgent job never waits behind normal jobs fetched but not started; the
 * engine thread then fills its platforms.<p>.concurrency slots from the two
 * inboxes with the rule below. No I/O: tests/unit/test_lanes.c checks it. */
#ifndef AP_LANES_H
#define AP_LANES_H

#include <stdbool.h>

typedef enum ap_lane { AP_LANE_NORMAL, AP_LANE_URGENT, AP_LANE_N } ap_lane;

/* "normal" / "urgent": metric labels and logs. */
const char *ap_lane_name(ap_lane lane);

/* The slots urgent jobs may hold while normal jobs wait: concurrency less
 * ceil(normal_share x concurrency), but at least one, so both lanes move
 * whatever the share (a share of 0 gives urgent everything). */
int ap_lane_urgent_cap(int concurrency, double normal_share);

/* The lane whose oldest held job starts in the next free slot, or
 * AP_LANE_N when neither holds one. Urgent first, up to its cap while a
 * normal job waits; when only one lane has work it takes any free slot
 * (so normal work runs at full concurrency when nothing is urgent). */
ap_lane ap_lane_pick(int concurrency, double normal_share, int urgent_active, bool urgent_waiting,
                     bool normal_waiting);

#endif
