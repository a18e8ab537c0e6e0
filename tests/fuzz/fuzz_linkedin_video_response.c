/* fuzz_linkedin_video_response.c -- libFuzzer target: LinkedIn's video
 * upload (linkedin_video.c) whatever the media host or LinkedIn answers at
 * any step; the driver and the input's layout are video_fuzz.h's (the fuzzed
 * bytes are also the ETag of a PUT and the post's x-restli-id).
 *
 * Steps: ranged read, initializeUpload, part PUT, finalizeUpload, status,
 * the post. Invariants beyond the driver's: the token only goes to
 * LinkedIn, no request holds or asks for more than one part, every PUT goes
 * through the outbound policy, and the parsers hold their bounds on the
 * bytes directly (a refused answer leaves nothing behind). */
#include "linkedin_video.h"
#include "video_fuzz.h"

#define BASE "https://api.linkedin.example"
#define UPLOAD "https://www.linkedin.com/dms-uploads/"

enum { S_FETCH = VF_FETCH, S_INIT, S_PUT, S_FINALIZE, S_STATUS, S_POST, S_COUNT };

static int step_of(const ap_http_request *req) {
    if (strcmp(req->method, "PUT") == 0) return S_PUT;
    if (req->outside_url) return S_FETCH;
    if (strstr(req->url, "action=initializeUpload")) return S_INIT;
    if (strstr(req->url, "action=finalizeUpload")) return S_FINALIZE;
    if (strstr(req->url, "/rest/videos/")) return S_STATUS;
    if (strstr(req->url, "/rest/posts")) return S_POST;
    abort(); /* a request of no known step */
}

static const char good_init[] =
    "{\"value\":{\"video\":\"urn:li:video:C1\",\"uploadToken\":\"\",\"uploadInstructions\":["
    "{\"uploadUrl\":\"" UPLOAD "1\",\"firstByte\":0,\"lastByte\":999},"
    "{\"uploadUrl\":\"" UPLOAD "2\",\"firstByte\":1000,\"lastByte\":1999},"
    "{\"uploadUrl\":\"" UPLOAD "3\",\"firstByte\":2000,\"lastByte\":2499}]}}";

static void good_answer(const ap_http_request *req, int step, ap_http_response *res) {
    (void)req;
    switch (step) {
    case S_INIT: vf_set_body(res, good_init, strlen(good_init)); break;
    case S_PUT: vf_set_header(res, "ETag", "\"e\""); break;
    case S_FINALIZE: break;
    case S_STATUS: vf_set_body(res, "{\"status\":\"AVAILABLE\"}", 22); break;
    default: res->status = 201; vf_set_header(res, "x-restli-id", "urn:li:share:9");
    }
}

static void check_request(const ap_http_request *req, int step) {
    if (step != S_FETCH && strncmp(req->url, BASE "/", strlen(BASE) + 1) != 0 &&
        strncmp(req->url, "https://www.linkedin.com/", 25) != 0 &&
        strncmp(req->url, "https://api.linkedin.com/", 25) != 0)
        abort();
    if (step == S_FETCH && req->max_response > AP_LI_VIDEO_MAX_PART) abort();
    if (step == S_PUT && (!req->outside_url || req->body_len > AP_LI_VIDEO_MAX_PART)) abort();
}

static void fuzz_headers(int step, const char *text, ap_http_response *res) {
    if (step == S_PUT) vf_set_header(res, "ETag", text);
    if (step == S_POST) vf_set_header(res, "x-restli-id", text);
}

static const vf_target target = {"linkedin",    "https://api.linkedin.example",
                                 "202411",      "urn:li:person:abc",
                                 NULL,          S_COUNT,
                                 S_POST,        3000,
                                 step_of,       good_answer,
                                 check_request, fuzz_headers};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    char *text = malloc(size);
    if (text == NULL) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    /* The parsers on their own. */
    ap_li_video_upload u;
    if (ap_li_video_parse_init(text, size - 1, &u) == 0) {
        if (u.nparts == 0 || u.nparts > AP_LI_VIDEO_MAX_PARTS || u.token == NULL ||
            strncmp(u.video, "urn:li:video:", 13) != 0)
            abort();
        for (size_t i = 0; i < u.nparts; i++)
            if (u.parts[i].url == NULL || u.parts[i].first < 0 ||
                u.parts[i].first > u.parts[i].last)
                abort();
        ap_li_video_upload_clear(&u);
    } else if (u.nparts != 0 || u.parts != NULL || u.token != NULL) {
        abort(); /* a refused answer leaves nothing behind */
    }
    ap_li_asset_status s;
    char why[64];
    if (ap_li_parse_asset_status(text, size - 1, &s, why, sizeof(why)) == 0 &&
        (s == AP_LI_ASSET_UNKNOWN || strnlen(why, sizeof(why)) == sizeof(why)))
        abort();
    vf_run(&target, text, size - 1, data[0]);
    free(text);
    return 0;
}
