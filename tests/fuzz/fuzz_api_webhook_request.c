/* fuzz_api_webhook_request.c -- libFuzzer target: autopost-api's
 * POST /v1/webhooks body decoder (api/webhooks.c) on arbitrary bytes, with
 * webhooks.allow_private off and on (the first input byte chooses). Whatever
 * the input it must not crash or leak; a refusal is a 400 or a 422 in the
 * one error shape with a detail naming a field; an accepted body has a URL
 * the endpoint store accepts and an event list the store accepts, so
 * wh_endpoint_create never sees what the API let through refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "endpoints.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    bool allow_private = data[0] & 1;
    api_webhook_request wr;
    api_reply r = {0};
    char why[512];
    if (api_webhook_request_decode(&wr, (const char *)data + 1, size - 1, allow_private, &r)) {
        if (r.body != NULL || wr.url == NULL) abort();
        if (wh_endpoint_url_check(wr.url, allow_private, why, sizeof(why)) != AP_OK) abort();
        if (wh_event_types_check(wr.events_csv, why, sizeof(why)) != AP_OK) abort();
    } else {
        json_t *err = json_object_get(r.body, "error");
        if (!json_is_string(json_object_get(err, "code"))) abort();
        if (r.status == 422) {
            json_t *d = json_array_get(json_object_get(err, "details"), 0);
            if (!json_is_string(json_object_get(d, "field"))) abort();
        } else if (r.status != 400 && r.status != 503) {
            abort();
        }
    }
    json_decref(r.body);
    api_webhook_request_free(&wr);
    return 0;
}
