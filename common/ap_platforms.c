/* ap_platforms.c -- the table behind ap_platforms.h. Adding a platform is a
 * line here plus an adapter file in publishers/. */
#include "ap_platforms.h"

#include <string.h>

static const ap_platform_info platform_table[] = {
    /* name        default base URL               default API version */
    {"facebook", "https://graph.facebook.com", "v19.0"},
    {"instagram", "https://graph.facebook.com", "v19.0"}, /* Instagram Graph API */
    {"threads", "https://graph.threads.net", "v1.0"},
    {"x", "https://api.x.com", "2"},
    {"linkedin", "https://api.linkedin.com", "202411"}, /* LinkedIn-Version YYYYMM */
};

const ap_platform_info *ap_platform_info_find(const char *name) {
    for (size_t i = 0; i < sizeof(platform_table) / sizeof(platform_table[0]); i++)
        if (strcmp(platform_table[i].name, name) == 0) return &platform_table[i];
    return NULL;
}

const ap_platform_info *ap_platform_info_at(size_t i) {
    return i < sizeof(platform_table) / sizeof(platform_table[0]) ? &platform_table[i] : NULL;
}
