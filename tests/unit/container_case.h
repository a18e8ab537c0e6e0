/* container_case.h -- drives a container-flow adapter (Instagram, Threads)
 * step by step with canned answers, for test_instagram.c and test_threads.c.
 * c->req is always the request the flow asked for last. */
#ifndef TEST_CONTAINER_CASE_H
#define TEST_CONTAINER_CASE_H

#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "test.h"

#define CC_TOKEN "IGQVJtestToken123"
#define CC_BASE "https://graph.example"
#define CC_SINCE 1795856400000 /* 2026-11-28T09:00:00Z */

typedef struct cc_case {
    ap_job job;
    Autopost__V1__Media media[11];
    Autopost__V1__Media *media_ptrs[11];
    char urls[11][64];
    ap_platform_config platform;
    ap_flow_input in;
    const ap_adapter *ad;
    void *flow;
    ap_http_request req;
    int64_t wait;
} cc_case;

static inline void cc_init(cc_case *c, const char *platform, const char *version,
                           const char *user) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    memset(c, 0, sizeof(*c));
    c->job = job_init;
    c->job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c->job.generation = 1;
    c->job.account_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    c->job.platform = (char *)platform;
    c->job.text = "Xin chào #sandbox";
    c->job.link = "";
    c->job.account_external_id = (char *)user;
    for (int i = 0; i < 11; i++) {
        c->media[i] = media_init;
        snprintf(c->urls[i], sizeof(c->urls[i]), "https://cdn.example/%d.jpg", i + 1);
        c->media[i].url = c->urls[i];
        c->media[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
        c->media_ptrs[i] = &c->media[i];
    }
    c->job.media = c->media_ptrs;
    snprintf(c->platform.name, sizeof(c->platform.name), "%s", platform);
    c->platform.base_url = CC_BASE;
    c->platform.api_version = (char *)version;
    c->in.job = &c->job;
    c->in.platform = &c->platform;
    c->in.token = CC_TOKEN;
    c->in.mode = AP_FLOW_PUBLISH;
    c->ad = ap_adapter_find(platform);
}

static inline void cc_video(cc_case *c, int i) {
    snprintf(c->urls[i], sizeof(c->urls[i]), "https://cdn.example/%d.mp4", i + 1);
    c->media[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
}

static inline void cc_start(cc_case *c, ap_flow_mode mode) {
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    c->in.mode = mode;
    c->in.since_ms = CC_SINCE;
    c->flow = c->ad->flow_new(&c->in);
    CHECK(c->flow != NULL);
    CHECK(c->ad->step(c->flow, &c->in, NULL, &c->req, &c->wait, &r) == AP_STEP_REQUEST);
}

static inline void cc_finish(cc_case *c) {
    c->ad->flow_free(c->flow);
    c->flow = NULL;
    ap_http_request_clear(&c->req);
}

/* The response value the engine would hand over. */
static inline void cc_response(ap_http_response *res, long status, const char *body,
                               const char *hname, const char *hvalue) {
    memset(res, 0, sizeof(*res));
    res->status = status;
    res->request_sent = true;
    if (body) {
        res->body = strdup(body);
        res->body_len = strlen(body);
    }
    if (hname) {
        res->headers[0].name = strdup(hname);
        res->headers[0].value = strdup(hvalue);
        res->nheaders = 1;
    }
}

/* Feeds res to the flow; c->req becomes the next request (if any). */
static inline ap_step_kind cc_feed_res(cc_case *c, ap_http_response *res, ap_flow_result *r) {
    ap_http_request next;
    memset(&next, 0, sizeof(next));
    memset(r, 0, sizeof(*r));
    c->wait = 0;
    ap_step_kind k = c->ad->step(c->flow, &c->in, res, &next, &c->wait, r);
    ap_http_request_clear(&c->req);
    c->req = next;
    return k;
}

static inline ap_step_kind cc_feed_h(cc_case *c, long status, const char *body, const char *hname,
                                     const char *hvalue, ap_flow_result *r) {
    ap_http_response res;
    cc_response(&res, status, body, hname, hvalue);
    ap_step_kind k = cc_feed_res(c, &res, r);
    ap_http_response_clear(&res);
    return k;
}

static inline ap_step_kind cc_feed(cc_case *c, long status, const char *body, ap_flow_result *r) {
    return cc_feed_h(c, status, body, NULL, NULL, r);
}

/* After AP_STEP_WAIT: the runtime calls step() again with no response. */
static inline ap_step_kind cc_wake(cc_case *c, ap_flow_result *r) {
    memset(r, 0, sizeof(*r));
    ap_http_request_clear(&c->req);
    return c->ad->step(c->flow, &c->in, NULL, &c->req, &c->wait, r);
}

static inline ap_step_kind cc_lost(cc_case *c, bool sent, ap_flow_result *r) {
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.transport_error = 28;
    res.request_sent = sent;
    snprintf(res.transport_message, sizeof(res.transport_message), "Timeout was reached");
    return cc_feed_res(c, &res, r);
}

static inline const char *cc_header(const ap_http_request *req, const char *name) {
    for (int i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

static inline bool cc_valid(cc_case *c, char *reason, size_t len) {
    reason[0] = '\0';
    return c->ad->validate(&c->job, reason, len);
}

/* n code points mixing Vietnamese tone marks (2 and 3 bytes) and an emoji
 * (4 bytes): what the limit counts is characters, not bytes. */
static inline char *cc_mixed_text(size_t n) {
    static const char *const pieces[] = {"\xe1\xbb\x87", "\xc3\xa0", "\xf0\x9f\x98\x80", "a"};
    char *s = malloc(n * 4 + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[i % 4];
        memcpy(s + len, p, strlen(p));
        len += strlen(p);
    }
    s[len] = '\0';
    return s;
}

#define CC_QUOTA_OK "{\"data\":[{\"quota_usage\":3,\"config\":{\"quota_total\":50}}]}"

#endif
