/* fuzz_facebook_video_response.c -- libFuzzer target: a Facebook page video
 * and a reel (facebook_video.c) whatever the media host or Facebook answers
 * at any step; the driver and the input's layout are video_fuzz.h's. Each
 * input runs both flows.
 *
 * Steps: ranged read, start, transfer (page video) or rupload (reel),
 * finish, the read-back of a lost finish, the status poll. Invariants beyond
 * the driver's: the token only goes to the configured API or rupload, a
 * transfer carries one chunk, only finish is sent once-only, finish is sent
 * at most 3 times, and the parsers hold their bounds on the bytes directly. */
#include "facebook_video.h"
#include "video_fuzz.h"

#define BASE "https://graph.example"
#define RUPLOAD "https://rupload.facebook.com/"

enum { S_FETCH = VF_FETCH, S_START, S_TRANSFER, S_FINISH, S_READBACK, S_STATUS, S_COUNT };

static int finishes; /* of the flow under way */

static int step_of(const ap_http_request *req) {
    const char *body = req->body ? req->body : "";
    if (req->outside_url) return S_FETCH;
    if (vf_req_header(req, "offset") != NULL) return S_TRANSFER; /* rupload, wherever it is */
    if (strcmp(req->method, "GET") == 0 && strstr(req->url, "?fields=id,published"))
        return S_READBACK;
    if (strcmp(req->method, "GET") == 0 && strstr(req->url, "?fields=status")) return S_STATUS;
    if (strstr(body, "upload_phase=start")) return S_START;
    if (strstr(body, "upload_phase=finish")) return S_FINISH;
    if (strstr(body, "name=\"upload_phase\"\r\n\r\ntransfer")) return S_TRANSFER;
    abort(); /* a request of no known step */
}

/* The next range after a page video transfer that started at start_offset. */
static void next_offsets(const ap_http_request *req, ap_http_response *res) {
    const char *at = req->body ? strstr(req->body, "name=\"start_offset\"\r\n\r\n") : NULL;
    long start =
        at ? strtol(at + strlen("name=\"start_offset\"\r\n\r\n"), NULL, 10) + VF_CHUNK : VF_TOTAL;
    long end = start + 2 * VF_CHUNK;
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"start_offset\":\"%ld\",\"end_offset\":\"%ld\"}",
                     start > VF_TOTAL ? VF_TOTAL : start, end > VF_TOTAL ? VF_TOTAL : end);
    vf_set_body(res, body, (size_t)n);
}

static void good_answer(const ap_http_request *req, int step, ap_http_response *res) {
    static const char page_start[] = "{\"upload_session_id\":\"77\",\"video_id\":\"55\","
                                     "\"start_offset\":\"0\",\"end_offset\":\"1000\"}";
    static const char reel_start[] =
        "{\"video_id\":\"55\",\"upload_url\":\"" RUPLOAD "video-upload/v19.0/55\"}";
    bool reel = strstr(req->url, "video_reels") != NULL;
    switch (step) {
    case S_START:
        vf_set_body(res, reel ? reel_start : page_start, strlen(reel ? reel_start : page_start));
        break;
    case S_TRANSFER:
        if (vf_req_header(req, "offset") != NULL)
            vf_set_body(res, "{\"success\":true}", 16);
        else
            next_offsets(req, res);
        break;
    case S_READBACK: vf_set_body(res, "{\"data\":[{\"id\":\"55\"}]}", 22); break;
    case S_STATUS: vf_set_body(res, "{\"status\":{\"video_status\":\"ready\"}}", 35); break;
    default: vf_set_body(res, "{\"success\":true}", 16);
    }
}

static void check_request(const ap_http_request *req, int step) {
    if (step != S_FETCH && strncmp(req->url, BASE "/", strlen(BASE) + 1) != 0 &&
        strncmp(req->url, RUPLOAD, strlen(RUPLOAD)) != 0)
        abort(); /* the token only to Facebook */
    if (step == S_FETCH && req->max_response > VF_CHUNK) abort();
    if (step == S_TRANSFER && req->body_len > VF_CHUNK + 1024) abort();
    if (req->once != (step == S_FINISH)) abort();
    if (step == S_FINISH && ++finishes > 3) abort(); /* one upload, a few finishes at most */
}

static const vf_target page_video = {"facebook", BASE,        "v19.0",       "104857600123",
                                     NULL,       S_COUNT,     S_FINISH,      3000,
                                     step_of,    good_answer, check_request, NULL};
static const vf_target reel = {"facebook", BASE, "v19.0", "104857600123", "reel",        S_COUNT,
                               S_FINISH,   3000, step_of, good_answer,    check_request, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    char *text = malloc(size);
    if (text == NULL) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    /* The parsers on their own. */
    ap_fb_video_start s;
    int64_t a, b;
    ap_fb_video_status st;
    char why[64];
    for (int r = 0; r < 2; r++) {
        if (ap_fb_video_parse_start(text, size - 1, r == 1, &s) == 0) {
            if (s.video_id[0] == '\0' || (r == 1 && s.upload_url[0] == '\0') ||
                (r == 0 && (s.session[0] == '\0' || s.start < 0 || s.end < s.start)))
                abort();
        } else if (s.video_id[0] != '\0' || s.session[0] != '\0' || s.upload_url[0] != '\0') {
            abort(); /* a refused answer leaves nothing behind */
        }
    }
    if (ap_fb_video_parse_offsets(text, size - 1, &a, &b) == 0 && (a < 0 || b < a)) abort();
    if (ap_fb_video_parse_status(text, size - 1, &st, why, sizeof(why)) == 0 &&
        (st == AP_FVS_UNKNOWN || strnlen(why, sizeof(why)) == sizeof(why)))
        abort();
    int listed = ap_fb_video_listed(text, size - 1, "55");
    if (listed < -1 || listed > 1) abort();
    (void)ap_fb_video_parse_success(text, size - 1);
    finishes = 0;
    vf_run(&page_video, text, size - 1, data[0]);
    finishes = 0;
    vf_run(&reel, text, size - 1, data[0]);
    free(text);
    return 0;
}
