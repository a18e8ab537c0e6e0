/* ap_format.c -- see ap_format.h. */
#include "ap_format.h"

#include <string.h>

static const char *const format_names[] = {"feed", "story", "reel"};

bool ap_format_parse(const char *name, ap_format *out) {
    if (name == NULL || *name == '\0') {
        *out = AP_FORMAT_FEED;
        return true;
    }
    for (int i = 0; i < (int)(sizeof(format_names) / sizeof(format_names[0])); i++)
        if (strcmp(name, format_names[i]) == 0) {
            *out = (ap_format)i;
            return true;
        }
    return false;
}

const char *ap_format_name(ap_format f) {
    return (unsigned)f < sizeof(format_names) / sizeof(format_names[0]) ? format_names[f] : "feed";
}
