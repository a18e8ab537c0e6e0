/* http_engine.h -- libcurl glue used by the runtime (not by adapters). */
#ifndef AP_HTTP_ENGINE_H
#define AP_HTTP_ENGINE_H

#include <curl/curl.h>

#include "ap_config.h"
#include "http.h"

/* A configured easy handle writing into *res; *headers_out must be freed
 * (curl_slist_free_all) after the transfer. reuse: a handle already reset
 * with curl_easy_reset (taken over, cleaned up on failure) or NULL for a new
 * one. NULL on failure. */
CURL *ap_http_easy_new(CURL *reuse, const ap_http_request *req, const ap_platform_config *platform,
                       ap_http_response *res, struct curl_slist **headers_out);
/* Records status, transport error and whether the request left us. */
void ap_http_easy_finish(CURL *e, int curl_code, ap_http_response *res);

#endif
