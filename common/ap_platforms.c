/* ap_platforms.c -- the table behind ap_platforms.h. Adding a platform is a
 * line here plus an adapter file in publishers/. */
#include "ap_platforms.h"

#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

/* Per-account caps: Instagram's content publishing limit (50 API-published
 * posts per rolling 24 h) and Threads' (250 per rolling 24 h), both counted
 * by the platform and reported as quota_usage. Other platforms publish no
 * fixed per-account cap that applies to every app (X's per-user limits
 * depend on the tier), so they have no default. */
static const ap_platform_info platform_table[] = {
    /* name   default base URL    default API version  cap  window  reports its count */
    {"facebook", "https://graph.facebook.com", "v19.0", 0, 0, false},
    {"instagram", "https://graph.facebook.com", "v19.0", 50, DAY_MS, true}, /* Instagram Graph */
    {"threads", "https://graph.threads.net", "v1.0", 250, DAY_MS, true},
    {"x", "https://api.x.com", "2", 0, 0, false},
    {"linkedin", "https://api.linkedin.com", "202411", 0, 0, false}, /* LinkedIn-Version YYYYMM */
};

const ap_platform_info *ap_platform_info_find(const char *name) {
    for (size_t i = 0; i < sizeof(platform_table) / sizeof(platform_table[0]); i++)
        if (strcmp(platform_table[i].name, name) == 0) return &platform_table[i];
    return NULL;
}

const ap_platform_info *ap_platform_info_at(size_t i) {
    return i < sizeof(platform_table) / sizeof(platform_table[0]) ? &platform_table[i] : NULL;
}
