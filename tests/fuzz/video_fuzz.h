/* video_fuzz.h -- the driver of the chunked video upload fuzz targets
 * (fuzz_x_video_response.c, fuzz_linkedin_video_response.c,
 * fuzz_facebook_video_response.c): whatever the media host or the platform
 * answers at whichever step, the adapter's flow must end on its own with a
 * well-formed result, and nothing may look live before the publishing call
 * was sent.
 *
 * Input: byte 0's low 3 bits pick the step that gets the fuzzed answer, bits
 * 3-6 its HTTP status (or a transport error), bit 7 whether a lost request
 * was sent; the rest is the body, also tried as the Content-Range and
 * Content-Type of a ranged read (and a target's own headers). Steps before
 * the chosen one get the target's well-formed answers; from it on, every
 * answer is the fuzzed one. A target describes its steps in a vf_target. */
#ifndef FUZZ_VIDEO_FUZZ_H
#define FUZZ_VIDEO_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "flow_check.h"

#define VF_TOTAL 2500 /* bytes of the video the media host serves */
#define VF_CHUNK 1000 /* platforms.<p>.media_chunk_size */
#define VF_FETCH 0    /* every target's step 0: a ranged read of the media URL */

static const long vf_statuses[] = {200, 201, 204, 206, 400, 401, 403, 404,
                                   416, 429, 500, 502, 503, 504, 0,   0};

typedef struct vf_target {
    const char *platform, *base, *version, *account, *format;
    int nsteps;       /* step kinds (VF_FETCH is 0) */
    int publish_step; /* the call that may make the post live */
    int max_steps;
    int (*step_of)(const ap_http_request *req); /* aborts for an unknown request */
    /* A well-formed answer to a request of that step. */
    void (*good_answer)(const ap_http_request *req, int step, ap_http_response *res);
    /* Aborts when a request breaks one of the target's rules. */
    void (*check_request)(const ap_http_request *req, int step);
    /* Extra fuzzed headers for a step (an ETag, an id header); may be NULL. */
    void (*fuzz_headers)(int step, const char *text, ap_http_response *res);
} vf_target;

static inline void vf_set_header(ap_http_response *res, const char *name, const char *value) {
    if (res->nheaders == AP_HTTP_MAX_HEADERS) return;
    res->headers[res->nheaders].name = strdup(name);
    res->headers[res->nheaders].value = strdup(value);
    res->nheaders++;
}

static inline void vf_set_body(ap_http_response *res, const char *body, size_t len) {
    res->body = malloc(len + 1);
    if (res->body == NULL) abort();
    memcpy(res->body, body, len);
    res->body[len] = '\0';
    res->body_len = len;
}

static inline const char *vf_req_header(const ap_http_request *req, const char *name) {
    for (int i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

/* The media host's 206 to a ranged read (at most a chunk). */
static inline void vf_range_answer(const ap_http_request *req, ap_http_response *res) {
    static const char bytes[VF_CHUNK] = {0};
    const char *range = vf_req_header(req, "Range");
    long first = 0, last = 0;
    if (range == NULL || sscanf(range, "bytes=%ld-%ld", &first, &last) != 2) abort();
    if (last >= VF_TOTAL) last = VF_TOTAL - 1;
    if (last - first + 1 > VF_CHUNK) last = first + VF_CHUNK - 1;
    char cr[64];
    snprintf(cr, sizeof(cr), "bytes %ld-%ld/%d", first, last, VF_TOTAL);
    res->status = 206;
    vf_set_header(res, "Content-Range", cr);
    vf_set_header(res, "Content-Type", "video/mp4");
    vf_set_body(res, bytes, (size_t)(last - first + 1));
}

static inline void vf_fuzz_answer(const vf_target *t, const char *text, size_t len, uint8_t ctl,
                                  int step, ap_http_response *res) {
    long status = vf_statuses[(ctl >> 3) & 0x0f];
    res->status = status;
    res->transport_error = status == 0 ? ((ctl & 0x80) ? 23 : 28) : 0;
    res->request_sent = (ctl & 0x80) != 0 || status != 0;
    vf_set_body(res, text, len);
    if (step == VF_FETCH) {
        vf_set_header(res, "Content-Range", text);
        vf_set_header(res, "Content-Type", (ctl & 0x80) ? "video/mp4" : text);
    }
    if (t->fuzz_headers) t->fuzz_headers(step, text, res);
}

/* Runs one flow of t's platform with answers from text and ctl. */
static inline void vf_run(const vf_target *t, const char *text, size_t len, uint8_t ctl) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    ap_job job = job_init;
    Autopost__V1__Media media = media_init, *media_ptr = &media;
    ap_platform_config platform;
    ap_flow_input in;
    memset(&platform, 0, sizeof(platform));
    memset(&in, 0, sizeof(in));
    media.url = "https://cdn.example/clip.mp4";
    media.type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
    job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    job.platform = (char *)t->platform;
    job.text = "a video";
    job.account_external_id = (char *)t->account;
    job.format = (char *)t->format;
    job.n_media = 1;
    job.media = &media_ptr;
    platform.base_url = (char *)t->base;
    platform.api_version = (char *)t->version;
    platform.media_chunk_bytes = VF_CHUNK;
    in.job = &job;
    in.platform = &platform;
    in.token = "TOKEN";
    in.mode = AP_FLOW_PUBLISH;

    int at = (ctl & 0x07) % t->nsteps;
    bool reached = false, published = false;
    const ap_adapter *ad = ap_adapter_find(t->platform);
    void *flow = ad->flow_new(&in);
    ap_http_request req;
    ap_flow_result r;
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    int64_t wait = 0;
    ap_step_kind k = ad->step(flow, &in, NULL, &req, &wait, &r);
    for (int n = 0; k != AP_STEP_DONE; n++) {
        if (n > t->max_steps) abort(); /* the flow must end on its own */
        if (k == AP_STEP_WAIT) {
            if (wait < 0 || wait > 60000) abort();
            ap_http_request_clear(&req);
            memset(&r, 0, sizeof(r));
            k = ad->step(flow, &in, NULL, &req, &wait, &r);
            continue;
        }
        int step = t->step_of(&req);
        const char *auth = vf_req_header(&req, "Authorization");
        if ((auth != NULL) == (step == VF_FETCH)) abort(); /* never the token to a media host */
        if (step == VF_FETCH && !req.outside_url) abort(); /* the outbound policy on reads */
        t->check_request(&req, step);
        published = published || step == t->publish_step;
        reached = reached || step == at;
        ap_http_response res;
        memset(&res, 0, sizeof(res));
        res.status = 200;
        res.request_sent = true;
        if (reached)
            vf_fuzz_answer(t, text, len, ctl, step, &res);
        else if (step == VF_FETCH)
            vf_range_answer(&req, &res);
        else
            t->good_answer(&req, step, &res);
        ap_http_request_clear(&req);
        memset(&r, 0, sizeof(r));
        wait = 0;
        k = ad->step(flow, &in, &res, &req, &wait, &r);
        ap_http_response_clear(&res);
    }
    fuzz_check_flow_result(&r);
    if (!published && (r.error_class == AP_CLASS_AMBIGUOUS || r.error_class == AP_CLASS_DUPLICATE ||
                       r.error_class == AP_CLASS_NONE))
        abort(); /* only the publishing call can make it live */
    ap_http_request_clear(&req);
    ad->flow_free(flow);
}

#endif
