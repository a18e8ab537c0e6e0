/* fuzz_linkedin_response.c -- libFuzzer target: whatever the LinkedIn Posts
 * API (or a proxy in between) answers, the LinkedIn adapter must end the flow
 * with a well-formed result, and read-back paging must stop and keep the
 * token at home.
 *
 * Input: byte 0 picks the HTTP status (and transport error / sent variants),
 * the rest is the body. The same bytes are then also tried as the
 * x-restli-id header of a 201 and the Retry-After header of a 429. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "flow_check.h"

static const long statuses[] = {200, 201, 204, 299, 400, 401, 403, 404,
                                429, 500, 502, 503, 504, 422, 426, 0};

typedef struct fuzz_job {
    ap_job job;
    Autopost__V1__Media media;
    Autopost__V1__Media *media_ptr;
    ap_platform_config platform;
    ap_flow_input in;
} fuzz_job;

static void fuzz_job_init(fuzz_job *f, bool photo, ap_flow_mode mode) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    memset(f, 0, sizeof(*f));
    f->job = job_init;
    f->media = media_init;
    f->media.url = "https://cdn.example/p.jpg";
    f->media_ptr = &f->media;
    f->job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    f->job.generation = 1;
    f->job.account_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    f->job.platform = "linkedin";
    f->job.text = "Xin chào";
    f->job.link = "https://example.com/";
    f->job.account_external_id = "urn:li:person:abc";
    f->job.n_media = photo ? 1 : 0; /* variant: download, initializeUpload, PUT first */
    f->job.media = &f->media_ptr;
    f->platform.base_url = "https://api.linkedin.example";
    f->platform.api_version = "202411";
    f->in.job = &f->job;
    f->in.platform = &f->platform;
    f->in.token = "TOKEN";
    f->in.mode = mode;
    f->in.since_ms = 1795856400000;
}

/* One flow: the request, then res as its answer. */
static void run_flow(bool photo, ap_flow_mode mode, ap_http_response *res) {
    fuzz_job f;
    fuzz_job_init(&f, photo, mode);
    const ap_adapter *ad = ap_adapter_find("linkedin");
    void *flow = ad->flow_new(&f.in);
    ap_http_request req, next;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&req, 0, sizeof(req));
    memset(&next, 0, sizeof(next));
    memset(&r, 0, sizeof(r));
    if (ad->step(flow, &f.in, NULL, &req, &wait, &r) != AP_STEP_REQUEST) abort();
    /* A read-back may page: answer every page with the same bytes; the
     * adapter must stop on its own. */
    ap_step_kind k;
    int pages = 0;
    while ((k = ad->step(flow, &f.in, res, &next, &wait, &r)) == AP_STEP_REQUEST) {
        if (++pages > (mode == AP_FLOW_VERIFY ? 12 : photo ? 3 : 0)) abort();
        bool authed = false;
        for (int i = 0; i < next.nheaders; i++)
            authed = authed || strcmp(next.headers[i].name, "Authorization") == 0;
        if (authed && strncmp(next.url, "https://api.linkedin.example/", 29) != 0 &&
            strncmp(next.url, "https://www.linkedin.com/", 25) != 0 &&
            strncmp(next.url, "https://api.linkedin.com/", 25) != 0)
            abort(); /* the token only goes to LinkedIn */
        ap_http_request_clear(&next);
        memset(&r, 0, sizeof(r));
    }
    if (k != AP_STEP_DONE) abort();
    fuzz_check_flow_result(&r);
    if (mode == AP_FLOW_PUBLISH && r.not_found) abort();
    ap_http_request_clear(&next);
    ap_http_request_clear(&req);
    ad->flow_free(flow);
}

static void set_header(ap_http_response *res, const char *name, const char *value) {
    res->headers[res->nheaders].name = strdup(name);
    res->headers[res->nheaders].value = strdup(value);
    res->nheaders++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t ctl = data[0];
    const uint8_t *body = data + 1;
    size_t body_len = size - 1;
    bool photo = ctl & 0x10, transport = (ctl & 0x60) == 0x60, sent = ctl & 0x80;

    /* The body exactly as received: not NUL-terminated by the adapter's
     * contract, but the engine always adds one, so do the same. */
    char *text = malloc(body_len + 1);
    if (text == NULL) return 0;
    memcpy(text, body, body_len);
    text[body_len] = '\0';

    for (int mode = AP_FLOW_PUBLISH; mode <= AP_FLOW_VERIFY; mode++) {
        ap_http_response res;
        memset(&res, 0, sizeof(res));
        res.status = transport ? 0 : statuses[ctl & 0x0f];
        res.transport_error = transport ? 28 : 0;
        res.request_sent = sent;
        res.body = malloc(body_len + 1);
        memcpy(res.body, text, body_len + 1);
        res.body_len = body_len;
        if (photo) set_header(&res, "Content-Type", "image/png"); /* the download is taken */
        run_flow(photo, (ap_flow_mode)mode, &res);
        ap_http_response_clear(&res);
    }

    /* The bytes as the post URN of a 201, and as Retry-After of a 429. */
    for (int i = 0; i < 2; i++) {
        ap_http_response res;
        memset(&res, 0, sizeof(res));
        res.status = i == 0 ? 201 : 429;
        res.request_sent = true;
        res.body = strdup("");
        set_header(&res, i == 0 ? "x-restli-id" : "Retry-After", text);
        run_flow(photo, AP_FLOW_PUBLISH, &res);
        ap_http_response_clear(&res);
    }
    free(text);
    return 0;
}
