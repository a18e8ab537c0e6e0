/* ap_platforms.h -- the platforms autopost knows, with their public API
 * defaults. The config accepts exactly these names under `platforms:`, and
 * the publisher has one adapter for each (publishers/platforms/adapters.c). */
#ifndef AP_PLATFORMS_H
#define AP_PLATFORMS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ap_platform_info {
    const char *name;
    const char *default_base_url;
    const char *default_api_version;
    /* The platform's documented per-account publishing cap, the default of
     * platforms.<p>.account_limit / account_window; 0: none published. */
    int account_limit;
    long long account_window_ms;
    /* Its publisher reports the platform's own count of an account's posts
     * (PublishResult.platform_usage), which the scheduler's claim waits for
     * before a burst (scheduler/claim.h, CLAIM_STALE). */
    bool reports_usage;
} ap_platform_info;

const ap_platform_info *ap_platform_info_find(const char *name);
const ap_platform_info *ap_platform_info_at(size_t i); /* NULL past the end */

#endif
