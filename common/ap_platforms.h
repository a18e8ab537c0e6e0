/* ap_platforms.h -- the platforms autopost knows, with their public API
 * defaults. The config accepts exactly these names under `platforms:`, and
 * the publisher has one adapter for each (publishers/adapters.c). */
#ifndef AP_PLATFORMS_H
#define AP_PLATFORMS_H

#include <stddef.h>

typedef struct ap_platform_info {
    const char *name;
    const char *default_base_url;
    const char *default_api_version;
} ap_platform_info;

const ap_platform_info *ap_platform_info_find(const char *name);
const ap_platform_info *ap_platform_info_at(size_t i); /* NULL past the end */

#endif
