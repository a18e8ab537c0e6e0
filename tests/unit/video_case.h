/* video_case.h -- drives an adapter through a chunked video upload step by
 * step with canned answers (the media host's ranged reads, the platform's
 * upload calls), for test_x_video.c, test_linkedin_video.c and
 * test_facebook_video.c. c->req is always the request the flow asked for
 * last, c->r and c->wait what the last step said. */
#ifndef TEST_VIDEO_CASE_H
#define TEST_VIDEO_CASE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "test.h"

#define VC_TOTAL 2500 /* bytes of the file the media host serves */
#define VC_TOKEN "videoTestToken123"

typedef struct vc_case {
    ap_job job;
    Autopost__V1__Media media[2];
    Autopost__V1__Media *media_ptr[2];
    ap_platform_config platform;
    ap_flow_input in;
    const ap_adapter *ad;
    void *flow;
    ap_http_request req; /* the request in flight */
    ap_flow_result r;    /* the last step's result */
    int64_t wait;        /* the last step's wait */
    char file[VC_TOTAL]; /* what the media host serves */
} vc_case;

/* One video at url for account on platform (base, version), read in
 * chunks of chunk bytes; the flow is not started (vc_start). */
static inline void vc_init(vc_case *c, const char *platform, const char *base, const char *version,
                           const char *account, const char *text, const char *url, int chunk) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    memset(c, 0, sizeof(*c));
    c->job = job_init;
    c->job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c->job.generation = 1;
    c->job.platform = (char *)platform;
    c->job.text = (char *)text;
    c->job.account_external_id = (char *)account;
    for (int i = 0; i < 2; i++) {
        c->media[i] = media_init;
        c->media[i].url = (char *)url;
        c->media[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
        c->media_ptr[i] = &c->media[i];
    }
    c->job.media = c->media_ptr;
    c->job.n_media = 1;
    snprintf(c->platform.name, sizeof(c->platform.name), "%s", platform);
    c->platform.base_url = (char *)base;
    c->platform.api_version = (char *)version;
    c->platform.media_chunk_bytes = chunk;
    c->in.job = &c->job;
    c->in.platform = &c->platform;
    c->in.token = VC_TOKEN;
    c->in.mode = AP_FLOW_PUBLISH;
    for (size_t i = 0; i < sizeof(c->file); i++) c->file[i] = (char)(i * 7 + i / 13);
    c->ad = ap_adapter_find(platform);
}

/* Starts the flow: the first step must ask for a request. */
static inline void vc_start(vc_case *c) {
    c->flow = c->ad->flow_new(&c->in);
    CHECK(c->flow != NULL);
    CHECK(c->ad->step(c->flow, &c->in, NULL, &c->req, &c->wait, &c->r) == AP_STEP_REQUEST);
}

static inline void vc_end(vc_case *c) {
    c->ad->flow_free(c->flow);
    ap_http_request_clear(&c->req);
}

static inline bool vc_valid(vc_case *c, char *reason, size_t len) {
    return c->ad->validate(&c->job, reason, len);
}

static inline const char *vc_req_header(const ap_http_request *req, const char *name) {
    for (int i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

static inline void vc_add_header(ap_http_response *res, const char *name, const char *value) {
    res->headers[res->nheaders].name = strdup(name);
    res->headers[res->nheaders].value = strdup(value);
    res->nheaders++;
}

/* Answers the request in flight; c->req becomes the next one (if any). */
static inline ap_step_kind vc_reply(vc_case *c, ap_http_response *res) {
    ap_http_request_clear(&c->req);
    memset(&c->req, 0, sizeof(c->req));
    memset(&c->r, 0, sizeof(c->r));
    c->wait = 0;
    ap_step_kind k = c->ad->step(c->flow, &c->in, res, &c->req, &c->wait, &c->r);
    ap_http_response_clear(res);
    return k;
}

/* An answer with status and body, and one header when hname is not NULL. */
static inline ap_step_kind vc_answer_h(vc_case *c, long status, const char *body, const char *hname,
                                       const char *hvalue) {
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.status = status;
    res.request_sent = true;
    if (body) {
        res.body = strdup(body);
        res.body_len = strlen(body);
    }
    if (hname) vc_add_header(&res, hname, hvalue);
    return vc_reply(c, &res);
}

static inline ap_step_kind vc_answer(vc_case *c, long status, const char *body) {
    return vc_answer_h(c, status, body, NULL, NULL);
}

/* No answer: sent says whether the request left (ambiguous for a publish). */
static inline ap_step_kind vc_no_answer(vc_case *c, bool sent) {
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.transport_error = 28;
    res.request_sent = sent;
    snprintf(res.transport_message, sizeof(res.transport_message), "Operation timed out");
    return vc_reply(c, &res);
}

/* The media host's answer to a ranged read of [first, last] of a file of
 * total bytes (total < 0: a plain 200 with the bytes). */
static inline ap_step_kind vc_serve(vc_case *c, long first, long last, long total,
                                    const char *type) {
    ap_http_response res;
    char range[96];
    memset(&res, 0, sizeof(res));
    res.request_sent = true;
    res.status = total < 0 ? 200 : 206;
    res.body_len = (size_t)(last - first + 1);
    res.body = malloc(res.body_len + 1);
    for (long i = first; i <= last; i++) res.body[i - first] = c->file[i % VC_TOTAL];
    if (total >= 0) {
        snprintf(range, sizeof(range), "bytes %ld-%ld/%ld", first, last, total);
        vc_add_header(&res, "Content-Range", range);
    }
    if (type) vc_add_header(&res, "Content-Type", type);
    return vc_reply(c, &res);
}

static inline ap_step_kind vc_resume(vc_case *c) { /* after a WAIT */
    ap_http_request_clear(&c->req);
    memset(&c->r, 0, sizeof(c->r));
    return c->ad->step(c->flow, &c->in, NULL, &c->req, &c->wait, &c->r);
}

static inline bool vc_body_has(const ap_http_request *req, const void *bytes, size_t n) {
    for (size_t i = 0; req->body && i + n <= req->body_len; i++)
        if (memcmp(req->body + i, bytes, n) == 0) return true;
    return false;
}

/* A ranged read of url: no token to a media host, the outbound policy on. */
static inline void vc_check_fetch(vc_case *c, const char *url, const char *range) {
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, url);
    CHECK_STR_EQ(vc_req_header(&c->req, "Range"), range);
    CHECK(vc_req_header(&c->req, "Authorization") == NULL);
    CHECK(c->req.outside_url); /* SSRF policy, redirects re-checked */
}

#endif
