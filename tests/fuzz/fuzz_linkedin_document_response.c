/* fuzz_linkedin_document_response.c -- libFuzzer target: LinkedIn's document
 * upload (linkedin_document.c) whatever the media host or LinkedIn answers at
 * any step.
 *
 * Input: byte 0's low 3 bits pick the step that gets the fuzzed answer
 * (download, initializeUpload, PUT, status, the post), bits 3-6 its HTTP
 * status (or a transport error); the rest is the body, also tried as the
 * download's Content-Type (bit 7 off) and the post's x-restli-id. Steps
 * before the chosen one get well-formed answers; from it on, every answer
 * is the fuzzed one. The parsers are also called on the bytes directly.
 *
 * Invariants: the flow ends on its own (resends, restarts and polls are
 * bounded), waits are short and positive, the token only goes to LinkedIn
 * and a download never carries it, a download asks for at most LinkedIn's
 * 100 MB, every PUT goes through the outbound policy with the whole file
 * (the well-formed download's, or the fuzzed body when the download itself
 * was answered by it),
 * and nothing before the post ends ambiguous, duplicate or published. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "flow_check.h"
#include "linkedin_document.h"

#define BASE "https://api.linkedin.example"
#define UPLOAD "https://www.linkedin.com/dms-uploads/"
#define TOTAL 1500
#define MAX_STEPS 3000

typedef enum step { S_FETCH, S_INIT, S_PUT, S_STATUS, S_POST, S_COUNT } step;

static const long statuses[] = {200, 201, 204, 206, 400, 401, 403, 404,
                                416, 429, 500, 502, 503, 504, 0,   0};

static step step_of(const ap_http_request *req) {
    if (strcmp(req->method, "PUT") == 0) return S_PUT;
    if (req->outside_url) return S_FETCH;
    if (strstr(req->url, "action=initializeUpload")) return S_INIT;
    if (strstr(req->url, "/rest/documents/")) return S_STATUS;
    if (strstr(req->url, "/rest/posts")) return S_POST;
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

static const char good_init[] =
    "{\"value\":{\"uploadUrlExpiresAt\":1650567510704,\"uploadUrl\":\"" UPLOAD
    "d1\",\"document\":\"urn:li:document:D1\"}}";

/* A well-formed answer to req, as the media host or LinkedIn would give it. */
static void good_answer(const ap_http_request *req, ap_http_response *res) {
    static const char bytes[TOTAL] = {'%', 'P', 'D', 'F', '-'};
    res->status = 200;
    res->request_sent = true;
    switch (step_of(req)) {
    case S_FETCH:
        set_header(res, "Content-Type", "application/pdf");
        set_body(res, bytes, TOTAL);
        break;
    case S_INIT: set_body(res, good_init, strlen(good_init)); break;
    case S_PUT: res->status = 201; break;
    case S_STATUS: set_body(res, "{\"status\":\"AVAILABLE\"}", 22); break;
    case S_POST:
    case S_COUNT:
    default: res->status = 201; set_header(res, "x-restli-id", "urn:li:share:9");
    }
}

static void fuzz_answer(const char *text, size_t len, uint8_t ctl, step at, ap_http_response *res) {
    long status = statuses[(ctl >> 3) & 0x0f];
    res->status = status;
    res->transport_error = status == 0 ? ((ctl & 0x80) ? 23 : 47) : 0;
    res->request_sent = (ctl & 0x80) != 0 || status != 0;
    set_body(res, text, len);
    if (at == S_FETCH) set_header(res, "Content-Type", (ctl & 0x80) ? "application/pdf" : text);
    if (at == S_POST) set_header(res, "x-restli-id", text);
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
    media.url = "https://cdn.example/deck.pdf";
    media.type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT;
    media.alt_text = (char *)text; /* the title, whatever it holds */
    job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    job.platform = "linkedin";
    job.text = "a document";
    job.account_external_id = "urn:li:person:abc";
    job.n_media = 1;
    job.media = &media_ptr;
    platform.base_url = BASE;
    platform.api_version = "202411";
    in.job = &job;
    in.platform = &platform;
    in.token = "TOKEN";
    in.mode = AP_FLOW_PUBLISH;

    step at = (step)((ctl & 0x07) % S_COUNT);
    bool reached = false;
    const ap_adapter *ad = ap_adapter_find("linkedin");
    void *flow = ad->flow_new(&in);
    ap_http_request req;
    ap_flow_result r;
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    int64_t wait = 0;
    ap_step_kind k = ad->step(flow, &in, NULL, &req, &wait, &r);
    step last = S_FETCH;
    size_t file_len = TOTAL; /* what the download gave: a PUT carries all of it */
    for (int n = 0; k != AP_STEP_DONE; n++) {
        if (n > MAX_STEPS) abort(); /* the flow must end on its own */
        if (k == AP_STEP_WAIT) {
            if (wait <= 0 || wait > 60000) abort();
            ap_http_request_clear(&req);
            memset(&r, 0, sizeof(r));
            k = ad->step(flow, &in, NULL, &req, &wait, &r);
            continue;
        }
        last = step_of(&req);
        bool authed = false;
        for (int i = 0; i < req.nheaders; i++)
            authed = authed || strcmp(req.headers[i].name, "Authorization") == 0;
        if (authed == (last == S_FETCH))
            abort(); /* LinkedIn gets the token; the media host never */
        if (authed && strncmp(req.url, BASE "/", strlen(BASE) + 1) != 0 &&
            strncmp(req.url, "https://www.linkedin.com/", 25) != 0 &&
            strncmp(req.url, "https://api.linkedin.com/", 25) != 0)
            abort();
        if (last == S_FETCH && req.max_response > (size_t)AP_LI_DOC_MAX_BYTES + 1) abort();
        if (last == S_PUT && (!req.outside_url || req.body_len != file_len)) abort();
        reached = reached || last == at;
        ap_http_response res;
        memset(&res, 0, sizeof(res));
        if (reached) {
            fuzz_answer(text, len, ctl, last, &res);
            if (last == S_FETCH) file_len = len; /* a fuzzed download is the file, if taken */
        } else {
            good_answer(&req, &res);
        }
        ap_http_request_clear(&req);
        memset(&r, 0, sizeof(r));
        wait = 0;
        k = ad->step(flow, &in, &res, &req, &wait, &r);
        ap_http_response_clear(&res);
    }
    fuzz_check_flow_result(&r);
    if (last != S_POST && (r.error_class == AP_CLASS_AMBIGUOUS ||
                           r.error_class == AP_CLASS_DUPLICATE || r.error_class == AP_CLASS_NONE))
        abort(); /* only the post can be live */
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
    ap_li_doc_upload u;
    if (ap_li_doc_parse_init(text, size - 1, &u) == 0) {
        if (u.url == NULL || strncmp(u.document, "urn:li:document:", 16) != 0 ||
            u.expires_at_ms < 0)
            abort();
        ap_li_doc_upload_clear(&u);
    } else if (u.url != NULL || u.document[0] != '\0') {
        abort(); /* a refused answer leaves nothing behind */
    }
    ap_li_asset_status s;
    char why[64];
    if (ap_li_parse_asset_status(text, size - 1, &s, why, sizeof(why)) == 0 &&
        (s == AP_LI_ASSET_UNKNOWN || strnlen(why, sizeof(why)) == sizeof(why)))
        abort();
    run(text, size - 1, data[0]);
    free(text);
    return 0;
}
