/* ap_deadline.c -- see ap_deadline.h. */
#include "ap_deadline.h"

#include <stdio.h>

#include "ap_time.h"

int64_t ap_deadline_effective(int64_t post_deadline_ms, int64_t scheduled_at_ms,
                              int64_t max_lateness_ms) {
    int64_t late = 0;
    /* A lateness so large it would overflow is no bound at all. */
    if (max_lateness_ms > 0 && scheduled_at_ms > 0 &&
        scheduled_at_ms <= INT64_MAX - max_lateness_ms)
        late = scheduled_at_ms + max_lateness_ms;
    if (post_deadline_ms <= 0) return late;
    if (late == 0) return post_deadline_ms;
    return post_deadline_ms < late ? post_deadline_ms : late;
}

bool ap_deadline_passed(int64_t deadline_ms, int64_t now_ms) {
    return deadline_ms > 0 && now_ms > deadline_ms;
}

ap_deadline_verdict ap_deadline_decide(int64_t deadline_ms, int64_t now_ms,
                                       bool call_may_have_started) {
    if (call_may_have_started) return AP_DEADLINE_GO; /* the post may be live: read back */
    return ap_deadline_passed(deadline_ms, now_ms) ? AP_DEADLINE_EXPIRE : AP_DEADLINE_GO;
}

void ap_deadline_reason(char *buf, size_t len, int64_t deadline_ms, int64_t now_ms,
                        const char *who) {
    char at[32];
    ap_time_format_rfc3339(deadline_ms, at, sizeof(at));
    int64_t late_s = (now_ms - deadline_ms) / 1000;
    int n = snprintf(buf, len,
                     "deadline %s passed %lld s before %s could start the platform call; "
                     "expired instead of going out late",
                     at, (long long)(late_s > 0 ? late_s : 0), who);
    if (n < 0 && len > 0) buf[0] = '\0'; /* truncation (n >= len) keeps a prefix: fine */
}
