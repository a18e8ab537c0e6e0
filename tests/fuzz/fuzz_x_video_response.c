/* fuzz_x_video_response.c -- libFuzzer target: X's chunked upload of a video
 * (x_video.c) whatever the media host or X answers at any step; the driver
 * and the input's layout are video_fuzz.h's.
 *
 * Steps: ranged read, initialize, append, finalize, STATUS, the tweet.
 * Invariants beyond the driver's: the token only goes to X, a read asks for
 * one chunk and an append carries one, and the parsers hold their bounds on
 * the bytes directly. */
#include "chunked.h"
#include "video_fuzz.h"
#include "x_video.h"

#define BASE "https://api.x.example"

enum { S_FETCH = VF_FETCH, S_INIT, S_APPEND, S_FINALIZE, S_STATUS, S_TWEET, S_COUNT };

static int step_of(const ap_http_request *req) {
    if (req->outside_url) return S_FETCH;
    if (strstr(req->url, "/initialize")) return S_INIT;
    if (strstr(req->url, "/append")) return S_APPEND;
    if (strstr(req->url, "/finalize")) return S_FINALIZE;
    if (strstr(req->url, "command=STATUS")) return S_STATUS;
    if (strstr(req->url, "/tweets")) return S_TWEET;
    abort(); /* a request of no known step */
}

static void good_answer(const ap_http_request *req, int step, ap_http_response *res) {
    (void)req;
    switch (step) {
    case S_INIT: vf_set_body(res, "{\"data\":{\"id\":\"123\"}}", 21); break;
    case S_APPEND: res->status = 204; break;
    case S_FINALIZE:
    case S_STATUS: {
        const char *ok = "{\"data\":{\"processing_info\":{\"state\":\"succeeded\"}}}";
        vf_set_body(res, ok, strlen(ok));
        break;
    }
    default: vf_set_body(res, "{\"data\":{\"id\":\"9\"}}", 19); res->status = 201;
    }
}

static void check_request(const ap_http_request *req, int step) {
    if (step != S_FETCH && strncmp(req->url, BASE "/", strlen(BASE) + 1) != 0) abort();
    if (step == S_FETCH && req->max_response != VF_CHUNK) abort();
    if (step == S_APPEND && req->body_len > VF_CHUNK + 1024) abort();
}

static const vf_target target = {"x",     BASE, "2",     "1234567890", NULL,          S_COUNT,
                                 S_TWEET, 2000, step_of, good_answer,  check_request, NULL};

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
    vf_run(&target, text, size - 1, data[0]);
    free(text);
    return 0;
}
