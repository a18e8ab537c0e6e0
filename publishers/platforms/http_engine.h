/* http_engine.h -- libcurl glue used by the runtime (not by adapters). */
#ifndef AP_HTTP_ENGINE_H
#define AP_HTTP_ENGINE_H

#include <curl/curl.h>

#include "ap_config.h"
#include "http.h"

/* A configured easy handle writing into *res; *headers_out must be freed
 * (ap_http_headers_free) after the transfer. reuse: a handle already reset
 * with curl_easy_reset (taken over, cleaned up on failure) or NULL for a new
 * one. media_allow_private (publisher.media_allow_private) lifts the
 * outbound policy of an outside_url request. NULL on failure. */
CURL *ap_http_easy_new(CURL *reuse, const ap_http_request *req, const ap_platform_config *platform,
                       bool media_allow_private, ap_http_response *res,
                       struct curl_slist **headers_out);
/* Wipes (an Authorization line carries a token) and frees curl's header
 * list; NULL is a no-op. */
void ap_http_headers_free(struct curl_slist *headers);
/* Records status, transport error and whether the request left us. */
void ap_http_easy_finish(CURL *e, int curl_code, ap_http_response *res);

#endif
