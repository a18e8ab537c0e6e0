/* ap_platforms.c -- the table behind ap_platforms.h, expanded from
 * common/platforms.list (README "Adding a platform"). */
#include "ap_platforms.h"

#include <string.h>

#define HOUR_MS (3600LL * 1000)

/* One entry per line of common/platforms.list (caps and why: see there). */
static const ap_platform_info platform_table[] = {
#define AP_PLATFORM(name, base_url, version, cap, cap_hours, reports) \
    {#name, base_url, version, cap, (cap_hours) * HOUR_MS, reports},
#include "ap_platform_list.h"
#undef AP_PLATFORM
};

const ap_platform_info *ap_platform_info_find(const char *name) {
    for (size_t i = 0; i < sizeof(platform_table) / sizeof(platform_table[0]); i++)
        if (strcmp(platform_table[i].name, name) == 0) return &platform_table[i];
    return NULL;
}

const ap_platform_info *ap_platform_info_at(size_t i) {
    return i < sizeof(platform_table) / sizeof(platform_table[0]) ? &platform_table[i] : NULL;
}
