/* adapters.c -- the platform table and checks every adapter shares. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"

extern const ap_adapter ap_adapter_facebook;
extern const ap_adapter ap_adapter_linkedin;
extern const ap_adapter ap_adapter_x;

static const ap_adapter *const adapter_table[] = {
    &ap_adapter_facebook,
    &ap_adapter_linkedin,
    &ap_adapter_x,
};

const ap_adapter *ap_adapter_find(const char *platform) {
    if (platform == NULL) return NULL;
    for (size_t i = 0; i < sizeof(adapter_table) / sizeof(adapter_table[0]); i++)
        if (strcmp(adapter_table[i]->name, platform) == 0) return adapter_table[i];
    return NULL;
}

static bool is_http_url(const char *url) {
    return (strncasecmp(url, "http://", 7) == 0 && url[7] != '\0') ||
           (strncasecmp(url, "https://", 8) == 0 && url[8] != '\0');
}

bool ap_validate_common(const ap_job *job, size_t max_media, char *reason, size_t len) {
    bool has_text = job->text && *job->text, has_link = job->link && *job->link;
    if (!has_text && !has_link && job->n_media == 0) {
        snprintf(reason, len, "empty post: no text, link or media");
        return false;
    }
    if (has_link && (!is_http_url(job->link) || strlen(job->link) > 2048)) {
        snprintf(reason, len, "link must be an http(s) URL of at most 2048 bytes");
        return false;
    }
    if (job->n_media > max_media) {
        snprintf(reason, len, "too many media items: %zu (at most %zu for %s)", job->n_media,
                 max_media, job->platform);
        return false;
    }
    for (size_t i = 0; i < job->n_media; i++) {
        const char *url = job->media[i]->url;
        if (url == NULL || !is_http_url(url) || strlen(url) > 2048) {
            snprintf(reason, len, "media %zu: URL must be http(s) (got \"%.64s\")", i + 1,
                     url ? url : "");
            return false;
        }
    }
    return true;
}

void ap_flow_fail(ap_flow_result *r, ap_error_class cls, long http_status, const char *code,
                  const char *fmt, ...) {
    va_list ap;
    r->error_class = cls;
    r->http_status = http_status;
    snprintf(r->error_code, sizeof(r->error_code), "%s", code ? code : "");
    va_start(ap, fmt);
    vsnprintf(r->error_message, sizeof(r->error_message), fmt, ap);
    va_end(ap);
}
