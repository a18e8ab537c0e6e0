/* container_fuzz.h -- the body of fuzz_instagram_response.c and
 * fuzz_threads_response.c: whatever the platform answers at whichever step
 * of the container flow, the adapter must end with a well-formed result in a
 * bounded number of steps, and only ever send its token to the configured API.
 * Once a publish call was sent, the post may be live: no new container is
 * made until a status read says EXPIRED (the old one never published), and
 * each container is published at most 3 times.
 *
 * Input: byte 0 picks the HTTP status (low nibble), the media (bits 4-5: none,
 * one image, one video, a 3-item carousel) and the mode (bit 6: verify);
 * byte 1 says how many steps get a well-formed canned answer first (so the
 * fuzzed bytes reach polling and publishing too) and whether the answer is
 * lost (bit 7). The rest is the body, and also the value of the usage and
 * Retry-After headers. Define FUZZ_PLATFORM before including. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "flow_check.h"

#define FUZZ_BASE "https://graph.example"

static const long fuzz_statuses[] = {200, 201, 204, 299, 400, 401, 403, 404,
                                     429, 500, 502, 503, 504, 302, 100, 0};

/* A plausible success answer to req. */
static const char *fuzz_canned(const ap_http_request *req) {
    if (strstr(req->url, "publishing_limit"))
        return "{\"data\":[{\"quota_usage\":1,\"config\":{\"quota_total\":50}}]}";
    if (strstr(req->url, "fields=status"))
        return "{\"status_code\":\"FINISHED\",\"status\":\"FINISHED\"}";
    if (strcmp(req->method, "POST") == 0) return "{\"id\":\"17900001\"}";
    return "{\"data\":[],\"paging\":{}}";
}

static void fuzz_set(ap_http_response *res, long status, const char *body, size_t len,
                     const char *hvalue, bool lost) {
    memset(res, 0, sizeof(*res));
    res->status = lost ? 0 : status;
    res->transport_error = lost ? 28 : 0;
    res->request_sent = true;
    res->body = malloc(len + 1);
    memcpy(res->body, body, len);
    res->body[len] = '\0';
    res->body_len = len;
    if (hvalue) {
        const char *names[] = {"X-Business-Use-Case-Usage", "X-App-Usage", "Retry-After"};
        for (int i = 0; i < 3; i++) {
            res->headers[i].name = strdup(names[i]);
            res->headers[i].value = strdup(hvalue);
        }
        res->nheaders = 3;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    if (size < 2) return 0;
    const char *body = (const char *)data + 2;
    size_t body_len = size - 2;
    char *text = malloc(body_len + 1);
    memcpy(text, body, body_len);
    text[body_len] = '\0';

    Autopost__V1__Media media[3], *ptrs[3];
    for (int i = 0; i < 3; i++) {
        media[i] = media_init;
        media[i].url = "https://cdn.example/p.jpg";
        media[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
        ptrs[i] = &media[i];
    }
    int kind = (data[0] >> 4) & 3;
    ap_job job = job_init;
    job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    job.account_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    job.platform = FUZZ_PLATFORM;
    job.text = "Xin chào";
    job.link = "";
    job.account_external_id = "17841400000000001";
    job.media = ptrs;
    job.n_media = kind == 0 ? 0 : kind == 3 ? 3 : 1;
    if (kind == 2) media[0].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
    ap_platform_config platform;
    memset(&platform, 0, sizeof(platform));
    platform.base_url = FUZZ_BASE;
    platform.api_version = "v19.0";
    ap_flow_input in = {.job = &job,
                        .platform = &platform,
                        .token = "TOKEN",
                        .since_ms = 1795856400000,
                        .mode = (data[0] & 0x40) ? AP_FLOW_VERIFY : AP_FLOW_PUBLISH};

    const ap_adapter *ad = ap_adapter_find(FUZZ_PLATFORM);
    void *flow = ad->flow_new(&in);
    ap_http_request req;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    ap_step_kind k = ad->step(flow, &in, NULL, &req, &wait, &r);
    int canned = data[1] & 0x0f, steps = 0, publishes = 0;
    bool publish_sent = false;
    while (k != AP_STEP_DONE) {
        if (++steps > 2000) abort(); /* the flow must end by itself */
        if (k == AP_STEP_WAIT) {
            if (wait < 0 || wait > 60 * 1000) abort();
            ap_http_request_clear(&req);
            k = ad->step(flow, &in, NULL, &req, &wait, &r);
            continue;
        }
        if (req.url == NULL || strncmp(req.url, FUZZ_BASE "/", strlen(FUZZ_BASE) + 1) != 0)
            abort(); /* the token stays home */
        if (strcmp(req.method, "POST") == 0 && strstr(req.url, "_publish") != NULL) {
            publish_sent = true;
            if (++publishes > 3 * 3) abort(); /* 3 containers at most, 3 calls each */
        } else if (strcmp(req.method, "POST") == 0 && publish_sent) {
            abort(); /* a new container for a post that may be live */
        }
        ap_http_response res;
        if (steps <= canned) {
            const char *c = fuzz_canned(&req);
            fuzz_set(&res, 200, c, strlen(c), NULL, false);
        } else {
            fuzz_set(&res, fuzz_statuses[data[0] & 0x0f], text, body_len, text,
                     (data[1] & 0x80) != 0);
        }
        /* The adapter reads any 2xx as an answer, so the harness does too. */
        if (strstr(req.url, "fields=status") != NULL && res.status >= 200 && res.status < 300 &&
            res.transport_error == 0 && strstr(res.body, "EXPIRED") != NULL)
            publish_sent = false; /* that container never published: nothing is live */
        ap_http_request next;
        memset(&next, 0, sizeof(next));
        memset(&r, 0, sizeof(r));
        k = ad->step(flow, &in, &res, &next, &wait, &r);
        ap_http_response_clear(&res);
        ap_http_request_clear(&req);
        req = next;
    }
    fuzz_check_flow_result(&r);
    if (in.mode == AP_FLOW_PUBLISH && r.not_found) abort();
    ap_http_request_clear(&req);
    ad->flow_free(flow);
    free(text);
    return 0;
}
