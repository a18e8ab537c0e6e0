/* deferral.c -- see deferral.h. */
#include "deferral.h"

#include <string.h>

bool ap_deferral_decide(const ap_flow_result *r, int64_t quota_wait_ms, ap_deferral *d) {
    memset(d, 0, sizeof(*d));
    bool limit;
    int64_t wait = r->retry_after_ms;
    if (r->error_class == AP_CLASS_QUOTA) {
        limit = true;
        if (wait <= 0) wait = quota_wait_ms;
    } else if (r->error_class == AP_CLASS_RETRY) {
        limit = (r->pause != AP_PAUSE_NONE || r->http_status == 429) && wait > 0;
    } else {
        limit = false;
    }
    if (!limit || wait <= 0) return false;
    d->wait_ms = wait > AP_DEFER_MAX_MS ? AP_DEFER_MAX_MS : wait;
    d->scope = r->pause == AP_PAUSE_APP ? AP_PAUSE_APP : AP_PAUSE_ACCOUNT;
    return true;
}
