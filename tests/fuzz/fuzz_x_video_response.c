/* fuzz_x_video_response.c -- libFuzzer target: X's chunked upload of a video
 * (x_video.c) whatever the media host or X answers at any step.
 *
 * Input: byte 0's low 3 bits pick the step that gets the fuzzed answer
 * (ranged read, initialize, append, finalize, STATUS, the tweet), bits 3-6
 * its HTTP status (or a transport error); the rest is the body, also tried
 * as the Content-Range of a ranged read. Steps before the chosen one get
 * well-formed answers; from it on, every answer is the fuzzed one. The
 * parsers are also called on the bytes directly.
 *
 * Invariants: the flow ends on its own (resends, restarts and polls are
 * bounded), waits are short and positive, the token only goes to X and a
 * download never carries it, no request asks for more than one chunk, and
 * nothing before the tweet ends ambiguous or duplicate (nothing is public). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "chunked.h"
#include "flow_check.h"
#include "x_video.h"

#define BASE "https://api.x.example"
#define CHUNK 1000
#define TOTAL 2500
#define MAX_STEPS 2000

typedef enum step { S_FETCH, S_INIT, S_APPEND, S_FINALIZE, S_STATUS, S_TWEET, S_COUNT } step;

static const long statuses[] = {200, 201, 204, 206, 400, 401, 403, 404,
                                416, 429, 500, 502, 503, 504, 0,   0};

static step step_of(const ap_http_request *req) {
    if (req->outside_url) return S_FETCH;
    if (strstr(req->url, "/initialize")) return S_INIT;
    if (strstr(req->url, "/append")) return S_APPEND;
    if (strstr(req->url, "/finalize")) return S_FINALIZE;
    if (strstr(req->url, "command=STATUS")) return S_STATUS;
    if (strstr(req->url, "/tweets")) return S_TWEET;
    abort(); /* a request of no known step */
}

static void set_header(ap_http_response *res, const char *name, const char *value) {
    if (res->nheaders == AP_HTTP_MAX_HEADERS) return;
    res->headers[res->nheaders].name = strdup(name);
    res->headers[res->nheaders].value = strdup(value);
    res->nheaders++;
}

static void set_body(ap_http_response *res, const char *body, size_t len) {
    res->body = malloc(len + 1);
    if (res->body == NULL) abort();
    memcpy(res->body, body, len);
    res->body[len] = '\0';
    res->body_len = len;
}

/* A well-formed answer to req, as the media host or X would give it. */
static void good_answer(const ap_http_request *req, ap_http_response *res) {
    static const char bytes[CHUNK] = {0};
    res->status = 200;
    res->request_sent = true;
    switch (step_of(req)) {
    case S_FETCH: {
        const char *range = NULL;
        for (int i = 0; i < req->nheaders; i++)
            if (strcmp(req->headers[i].name, "Range") == 0) range = req->headers[i].value;
        long first = 0, last = 0;
        if (range == NULL || sscanf(range, "bytes=%ld-%ld", &first, &last) != 2) abort();
        if (last >= TOTAL) last = TOTAL - 1;
        char cr[64];
        snprintf(cr, sizeof(cr), "bytes %ld-%ld/%d", first, last, TOTAL);
        res->status = 206;
        set_header(res, "Content-Range", cr);
        set_header(res, "Content-Type", "video/mp4");
        set_body(res, bytes, (size_t)(last - first + 1));
        break;
    }
    case S_INIT: set_body(res, "{\"data\":{\"id\":\"123\"}}", 21); break;
    case S_APPEND: res->status = 204; break;
    case S_FINALIZE:
    case S_STATUS: {
        const char *ok = "{\"data\":{\"processing_info\":{\"state\":\"succeeded\"}}}";
        set_body(res, ok, strlen(ok));
        break;
    }
    case S_TWEET:
    case S_COUNT:
    default: set_body(res, "{\"data\":{\"id\":\"9\"}}", 19); res->status = 201;
    }
}

static void fuzz_answer(const char *text, size_t len, uint8_t ctl, step at, ap_http_response *res) {
    long status = statuses[(ctl >> 3) & 0x0f];
    res->status = status;
    res->transport_error = status == 0 ? ((ctl & 0x80) ? 23 : 28) : 0;
    res->request_sent = (ctl & 0x80) != 0 || status != 0;
    set_body(res, text, len);
    if (at == S_FETCH) {
        set_header(res, "Content-Range", text);
        set_header(res, "Content-Type", (ctl & 0x80) ? "video/mp4" : text);
    }
}

static void run(const char *text, size_t len, uint8_t ctl) {
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
    job.platform = "x";
    job.text = "a video";
    job.account_external_id = "1234567890";
    job.n_media = 1;
    job.media = &media_ptr;
    platform.base_url = BASE;
    platform.api_version = "2";
    platform.media_chunk_bytes = CHUNK;
    in.job = &job;
    in.platform = &platform;
    in.token = "TOKEN";
    in.mode = AP_FLOW_PUBLISH;

    step at = (step)((ctl & 0x07) % S_COUNT);
    bool reached = false;
    const ap_adapter *ad = ap_adapter_find("x");
    void *flow = ad->flow_new(&in);
    ap_http_request req;
    ap_flow_result r;
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    int64_t wait = 0;
    ap_step_kind k = ad->step(flow, &in, NULL, &req, &wait, &r);
    step last = S_FETCH;
    for (int n = 0; k != AP_STEP_DONE; n++) {
        if (n > MAX_STEPS) abort(); /* the flow must end on its own */
        if (k == AP_STEP_WAIT) {
            if (wait < 0 || wait > 60000) abort();
            ap_http_request_clear(&req);
            memset(&r, 0, sizeof(r));
            k = ad->step(flow, &in, NULL, &req, &wait, &r);
            continue;
        }
        last = step_of(&req);
        bool authed = false;
        for (int i = 0; i < req.nheaders; i++)
            authed = authed || strcmp(req.headers[i].name, "Authorization") == 0;
        if (authed != (last != S_FETCH)) abort(); /* X gets the token; the media host never */
        if (authed && strncmp(req.url, BASE "/", strlen(BASE) + 1) != 0) abort();
        if (last == S_FETCH && req.max_response != CHUNK) abort();
        if (last == S_APPEND && req.body_len > CHUNK + 1024) abort();
        reached = reached || last == at;
        ap_http_response res;
        memset(&res, 0, sizeof(res));
        if (reached)
            fuzz_answer(text, len, ctl, last, &res);
        else
            good_answer(&req, &res);
        ap_http_request_clear(&req);
        memset(&r, 0, sizeof(r));
        wait = 0;
        k = ad->step(flow, &in, &res, &req, &wait, &r);
        ap_http_response_clear(&res);
    }
    fuzz_check_flow_result(&r);
    if (last != S_TWEET && (r.error_class == AP_CLASS_AMBIGUOUS ||
                            r.error_class == AP_CLASS_DUPLICATE || r.error_class == AP_CLASS_NONE))
        abort(); /* only the tweet can be live */
    ap_http_request_clear(&req);
    ad->flow_free(flow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    char *text = malloc(size);
    if (text == NULL) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    /* The parsers on their own. */
    char id[40];
    int64_t exp, a, b, t;
    ap_x_processing p;
    if (ap_x_video_parse_init(text, size - 1, id, sizeof(id), &exp) == 0 &&
        strnlen(id, sizeof(id)) == sizeof(id))
        abort();
    if (ap_x_video_parse_processing(text, size - 1, &p) == 0 &&
        (strnlen(p.error, sizeof(p.error)) == sizeof(p.error) || p.check_after_s < -1))
        abort();
    if (ap_chunk_parse_content_range(text, &a, &b, &t) == 0 && !(0 <= a && a <= b && b < t))
        abort();
    run(text, size - 1, data[0]);
    free(text);
    return 0;
}
