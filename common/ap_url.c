/* ap_url.c -- the link/media URL rule (see ap_url.h). */
#include "ap_url.h"

#include <string.h>
#include <strings.h>

#include "ap_utf8.h"

static size_t scheme_length(const char *url) {
    if (strncasecmp(url, "https://", 8) == 0) return 8;
    if (strncasecmp(url, "http://", 7) == 0) return 7;
    return 0;
}

ap_url_verdict ap_url_check(const char *url) {
    if (url == NULL) return AP_URL_BAD_SCHEME;
    size_t skip = scheme_length(url);
    if (skip == 0) return AP_URL_BAD_SCHEME;
    const char *host = url + skip;
    if (*host == '\0' || *host == '/' || *host == '?' || *host == '#') return AP_URL_NO_HOST;
    if (strlen(url) > AP_URL_MAX) return AP_URL_TOO_LONG;
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= 0x20 || *c == 0x7f) return AP_URL_CONTROL_CHAR;
    if (!ap_utf8_valid(url)) return AP_URL_NOT_UTF8;
    return AP_URL_OK;
}
