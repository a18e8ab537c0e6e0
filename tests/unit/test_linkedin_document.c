/* test_linkedin_document.c -- LinkedIn's document upload
 * (linkedin_document.c), driven through the LinkedIn adapter without a
 * network: each request is inspected as a value, each answer (the media
 * host's download, LinkedIn's Documents API) is fed back, and the parsers
 * and validation rules are checked on their own. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "linkedin_document.h"
#include "test.h"

#define TOKEN "AQVliTestToken"
#define AUTHOR "urn:li:organization:2414183"
#define BASE "https://api.linkedin.example"
#define DOC_URL "https://cdn.example/decks/q3-results.pdf?v=2"
#define UPLOAD "https://www.linkedin.com/dms-uploads/"
#define URN "urn:li:document:D5F10AQH"
#define URN2 "urn:li:document:D5F10AQJ"
#define TOTAL 3000

typedef struct d_case {
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
    char file[TOTAL];    /* what the media host serves */
} d_case;

static void case_init(d_case *c) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__Media media_init = AUTOPOST__V1__MEDIA__INIT;
    memset(c, 0, sizeof(*c));
    c->job = job_init;
    c->job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c->job.generation = 1;
    c->job.platform = "linkedin";
    c->job.text = "our results (Q3)";
    c->job.account_external_id = AUTHOR;
    for (int i = 0; i < 2; i++) {
        c->media[i] = media_init;
        c->media[i].url = DOC_URL;
        c->media[i].alt_text = "";
        c->media[i].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT;
        c->media_ptr[i] = &c->media[i];
    }
    c->job.media = c->media_ptr;
    c->job.n_media = 1;
    snprintf(c->platform.name, sizeof(c->platform.name), "linkedin");
    c->platform.base_url = BASE;
    c->platform.api_version = "202411";
    c->in.job = &c->job;
    c->in.platform = &c->platform;
    c->in.token = TOKEN;
    c->in.mode = AP_FLOW_PUBLISH;
    for (size_t i = 0; i < sizeof(c->file); i++) c->file[i] = (char)(i * 11 + i / 7);
    c->ad = ap_adapter_find("linkedin");
}

static void case_start(d_case *c) {
    case_init(c);
    c->flow = c->ad->flow_new(&c->in);
    CHECK(c->flow != NULL);
    CHECK(c->ad->step(c->flow, &c->in, NULL, &c->req, &c->wait, &c->r) == AP_STEP_REQUEST);
}

static void case_end(d_case *c) {
    c->ad->flow_free(c->flow);
    ap_http_request_clear(&c->req);
}

static const char *req_header(const ap_http_request *req, const char *name) {
    for (int i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

static void add_header(ap_http_response *res, const char *name, const char *value) {
    res->headers[res->nheaders].name = strdup(name);
    res->headers[res->nheaders].value = strdup(value);
    res->nheaders++;
}

/* Answers the request in flight; c->req becomes the next one (if any). */
static ap_step_kind reply(d_case *c, ap_http_response *res) {
    ap_http_request_clear(&c->req);
    memset(&c->req, 0, sizeof(c->req));
    memset(&c->r, 0, sizeof(c->r));
    c->wait = 0;
    ap_step_kind k = c->ad->step(c->flow, &c->in, res, &c->req, &c->wait, &c->r);
    ap_http_response_clear(res);
    return k;
}

static ap_step_kind answer_h(d_case *c, long status, const char *body, const char *hname,
                             const char *hvalue) {
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.status = status;
    res.request_sent = true;
    if (body) {
        res.body = strdup(body);
        res.body_len = strlen(body);
    }
    if (hname) add_header(&res, hname, hvalue);
    return reply(c, &res);
}

static ap_step_kind answer(d_case *c, long status, const char *body) {
    return answer_h(c, status, body, NULL, NULL);
}

/* The media host's answer: the whole file with this Content-Type. */
static ap_step_kind serve(d_case *c, size_t len, const char *type) {
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.request_sent = true;
    res.status = 200;
    res.body_len = len;
    res.body = malloc(len + 1);
    memcpy(res.body, c->file, len);
    if (type) add_header(&res, "Content-Type", type);
    return reply(c, &res);
}

static ap_step_kind resume(d_case *c) { /* after a WAIT */
    ap_http_request_clear(&c->req);
    memset(&c->r, 0, sizeof(c->r));
    return c->ad->step(c->flow, &c->in, NULL, &c->req, &c->wait, &c->r);
}

static void check_fetch(d_case *c) {
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, DOC_URL);
    CHECK(c->req.outside_url);
    CHECK(req_header(&c->req, "Authorization") == NULL); /* never the token to a media host */
    CHECK(c->req.max_response == (size_t)AP_LI_DOC_MAX_BYTES + 1);
}

static void check_init(d_case *c) {
    CHECK_STR_EQ(c->req.method, "POST");
    CHECK_STR_EQ(c->req.url, BASE "/rest/documents?action=initializeUpload");
    CHECK_STR_EQ(req_header(&c->req, "LinkedIn-Version"), "202411");
    CHECK_STR_EQ(req_header(&c->req, "X-Restli-Protocol-Version"), "2.0.0");
    CHECK_STR_EQ(req_header(&c->req, "Authorization"), "Bearer " TOKEN);
    CHECK(!c->req.outside_url);
    json_t *b = json_loads(c->req.body, 0, NULL);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_object_get(b, "initializeUploadRequest"), "owner")),
        AUTHOR);
    json_decref(b);
}

static void check_put(d_case *c, const char *name) {
    char url[128];
    snprintf(url, sizeof(url), UPLOAD "%s", name);
    CHECK_STR_EQ(c->req.method, "PUT");
    CHECK_STR_EQ(c->req.url, url);
    CHECK(c->req.outside_url); /* the outbound policy applies to upload URLs too */
    CHECK(!c->req.once);       /* an upload is not public: resending is harmless */
    CHECK_STR_EQ(req_header(&c->req, "Content-Type"), "application/octet-stream");
    CHECK_STR_EQ(req_header(&c->req, "Authorization"), "Bearer " TOKEN);
    CHECK(c->req.body_len == TOTAL);
    CHECK(c->req.body && memcmp(c->req.body, c->file, TOTAL) == 0);
}

static ap_step_kind answer_init(d_case *c, const char *urn, const char *name) {
    char body[512];
    snprintf(body, sizeof(body),
             "{\"value\":{\"uploadUrlExpiresAt\":1650567510704,\"uploadUrl\":\"" UPLOAD
             "%s\",\"document\":\"%s\"}}",
             name, urn);
    return answer(c, 200, body);
}

static void check_status(d_case *c) {
    CHECK_STR_EQ(c->req.method, "GET");
    CHECK_STR_EQ(c->req.url, BASE "/rest/documents/urn%3Ali%3Adocument%3AD5F10AQH");
    CHECK_STR_EQ(req_header(&c->req, "LinkedIn-Version"), "202411");
}

/* The post names the document with its title; returns after the 201. */
static void check_post_and_publish(d_case *c, const char *urn, const char *title) {
    CHECK_STR_EQ(c->req.url, BASE "/rest/posts");
    CHECK(c->req.once); /* the one call that can make something public */
    json_t *b = json_loads(c->req.body, 0, NULL);
    json_t *media = json_object_get(json_object_get(b, "content"), "media");
    CHECK_STR_EQ(json_string_value(json_object_get(media, "id")), urn);
    CHECK_STR_EQ(json_string_value(json_object_get(media, "title")), title);
    CHECK_STR_EQ(json_string_value(json_object_get(b, "commentary")), "our results \\(Q3\\)");
    json_decref(b);
    CHECK(answer_h(c, 201, NULL, "x-restli-id", "urn:li:share:7002") == AP_STEP_DONE);
    CHECK(c->r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(c->r.external_id, "urn:li:share:7002");
}

static void test_document_flow(void) {
    d_case c;
    case_start(&c);
    check_fetch(&c);
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    check_init(&c);
    CHECK(answer_init(&c, URN, "doc1") == AP_STEP_REQUEST);
    check_put(&c, "doc1");
    CHECK(answer(&c, 201, NULL) == AP_STEP_WAIT);
    CHECK(c.wait >= 1000 && c.wait <= 10000);
    CHECK(resume(&c) == AP_STEP_REQUEST);
    check_status(&c);
    CHECK(answer(&c, 200, "{\"status\":\"WAITING_UPLOAD\"}") == AP_STEP_WAIT);
    CHECK(resume(&c) == AP_STEP_REQUEST);
    CHECK(answer(&c, 200, "{\"status\":\"PROCESSING\"}") == AP_STEP_WAIT);
    CHECK(resume(&c) == AP_STEP_REQUEST);
    CHECK(answer(&c, 200, "{\"status\":\"AVAILABLE\",\"id\":\"" URN "\"}") == AP_STEP_REQUEST);
    check_post_and_publish(&c, URN, "q3-results.pdf"); /* no alt_text: the file's name */
    case_end(&c);
}

/* A PUT answered 5xx (or nothing): the document is downloaded again (the
 * first PUT took the bytes) and sent to the same URL; no new upload. */
static void test_put_resent(void) {
    d_case c;
    case_start(&c);
    c.media[0].alt_text = "Q3 deck";
    CHECK(serve(&c, TOTAL, "application/pdf; charset=binary") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, URN, "doc1") == AP_STEP_REQUEST);
    CHECK(answer(&c, 502, "bad gateway") == AP_STEP_WAIT);
    CHECK(c.r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(c.r.note_event, "linkedin_document_resend");
    CHECK(c.wait > 0);
    CHECK(resume(&c) == AP_STEP_REQUEST);
    check_fetch(&c);
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    check_put(&c, "doc1");
    ap_http_response none;
    memset(&none, 0, sizeof(none));
    none.transport_error = 28;
    none.request_sent = true;
    snprintf(none.transport_message, sizeof(none.transport_message), "timeout");
    CHECK(reply(&c, &none) == AP_STEP_WAIT);
    CHECK(resume(&c) == AP_STEP_REQUEST);
    /* The file changed between two downloads: not sent as if it were one. */
    CHECK(serve(&c, TOTAL - 1, "application/pdf") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(c.r.error_code, "media_changed");
    case_end(&c);

    /* Too many 5xx: the job is retried later, never ambiguous. */
    case_start(&c);
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, URN, "doc1") == AP_STEP_REQUEST);
    for (int i = 0; i < 3; i++) {
        CHECK(answer(&c, 500, NULL) == AP_STEP_WAIT);
        CHECK(resume(&c) == AP_STEP_REQUEST);
        CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
        check_put(&c, "doc1");
    }
    CHECK(answer(&c, 503, NULL) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    case_end(&c);
}

/* An expired upload URL (403/404): a new upload from initializeUpload, then
 * the document read again (the failed PUT took the bytes). */
static void test_expired_upload_restarts(void) {
    d_case c;
    case_start(&c);
    c.media[0].alt_text = "Q3 deck";
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, URN2, "old") == AP_STEP_REQUEST);
    check_put(&c, "old");
    CHECK(answer(&c, 403, "{\"status\":403,\"message\":\"Upload URL expired\"}") ==
          AP_STEP_REQUEST);
    CHECK_STR_EQ(c.r.note_event, "linkedin_document_restart");
    check_init(&c);
    CHECK(answer_init(&c, URN, "new") == AP_STEP_REQUEST);
    check_fetch(&c);
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    check_put(&c, "new");
    CHECK(answer(&c, 201, NULL) == AP_STEP_WAIT);
    CHECK(resume(&c) == AP_STEP_REQUEST);
    check_status(&c);
    CHECK(answer(&c, 200, "{\"status\":\"AVAILABLE\"}") == AP_STEP_REQUEST);
    check_post_and_publish(&c, URN, "Q3 deck");
    case_end(&c);

    /* URLs that keep expiring: retried later, nothing posted. */
    case_start(&c);
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    for (int i = 0; i < 3; i++) {
        CHECK(answer_init(&c, URN, "x") == AP_STEP_REQUEST);
        if (i > 0) CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
        check_put(&c, "x");
        ap_step_kind k = answer(&c, 404, NULL);
        CHECK(k == (i < 2 ? AP_STEP_REQUEST : AP_STEP_DONE));
    }
    CHECK(c.r.error_class == AP_CLASS_RETRY);
    CHECK_STR_EQ(c.r.error_code, "media_expired");
    case_end(&c);
}

static void test_processing_failed(void) {
    d_case c;
    case_start(&c);
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    CHECK(answer_init(&c, URN, "doc1") == AP_STEP_REQUEST);
    CHECK(answer(&c, 201, NULL) == AP_STEP_WAIT);
    CHECK(resume(&c) == AP_STEP_REQUEST);
    CHECK(answer(&c, 200, "{\"status\":\"PROCESSING_FAILED\"}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_processing_failed");
    CHECK_CONTAINS(c.r.error_message, "nothing was posted");
    case_end(&c);
}

/* Refused before LinkedIn hears of it, or on LinkedIn's word. */
static void test_refusals(void) {
    d_case c;
    case_start(&c);
    CHECK(serve(&c, TOTAL, "application/vnd.ms-powerpoint") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_type");
    CHECK_CONTAINS(c.r.error_message, "not a PDF document");
    case_end(&c);

    case_start(&c);
    CHECK(serve(&c, TOTAL, "application/pdfx") == AP_STEP_DONE);
    CHECK_STR_EQ(c.r.error_code, "media_type");
    case_end(&c);

    /* A download stopped by the outbound policy: a redirect too many. */
    case_start(&c);
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.transport_error = 47;
    CHECK(reply(&c, &res) == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_url_refused");
    CHECK_STR_EQ(c.r.error_message, "media 1: more than 5 redirects");
    case_end(&c);

    case_start(&c);
    memset(&res, 0, sizeof(res));
    res.scheme_refused = true;
    CHECK(reply(&c, &res) == AP_STEP_DONE);
    CHECK_STR_EQ(c.r.error_message, "media 1: only https URLs are allowed");
    case_end(&c);

    /* An upload URL that is not LinkedIn's never gets the token. */
    case_start(&c);
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    CHECK(answer(&c, 200,
                 "{\"value\":{\"uploadUrl\":\"https://evil.example/u\",\"document\":\"" URN
                 "\"}}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_PERMANENT);
    CHECK_STR_EQ(c.r.error_code, "media_upload");
    case_end(&c);

    /* initializeUpload answered 401: reconnect, nothing public. */
    case_start(&c);
    CHECK(serve(&c, TOTAL, "application/pdf") == AP_STEP_REQUEST);
    CHECK(answer(&c, 401, "{\"status\":401,\"message\":\"Invalid access token\"}") == AP_STEP_DONE);
    CHECK(c.r.error_class == AP_CLASS_REAUTH);
    case_end(&c);
}

static void test_validate(void) {
    d_case c;
    char why[256];
    case_init(&c);
    CHECK(c.ad->validate(&c.job, why, sizeof(why)));
    c.job.n_media = 2; /* two documents */
    CHECK(!c.ad->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "exactly one document");
    c.media[1].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE; /* a document and an image */
    CHECK(!c.ad->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "exactly one document");
    c.media[1].type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO; /* and a video */
    CHECK(!c.ad->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "exactly one document");
    c.job.n_media = 1;
    c.job.text = "";
    CHECK(c.ad->validate(&c.job, why, sizeof(why))); /* a document alone is a post */
    /* Every other platform refuses a document, with the reason. */
    static const char *const others[] = {"x", "facebook", "instagram", "threads"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        const ap_adapter *a = ap_adapter_find(others[i]);
        c.job.platform = (char *)others[i];
        c.job.text = "a deck";
        CHECK(a != NULL && !a->validate(&c.job, why, sizeof(why)));
        CHECK_CONTAINS(why, "does not take documents");
    }
}

static void test_title(void) {
    d_case c;
    char t[AP_LI_DOC_TITLE_MAX + 1];
    case_init(&c);
    ap_li_doc_title(&c.job, 0, t, sizeof(t));
    CHECK_STR_EQ(t, "q3-results.pdf");
    c.media[0].url = "https://cdn.example/";
    ap_li_doc_title(&c.job, 0, t, sizeof(t));
    CHECK_STR_EQ(t, "Document");
    c.media[0].url = "https://cdn.example";
    ap_li_doc_title(&c.job, 0, t, sizeof(t));
    CHECK_STR_EQ(t, "Document");
    c.media[0].alt_text = "Résumé";
    ap_li_doc_title(&c.job, 0, t, 3); /* cut inside "é": the whole character goes */
    CHECK_STR_EQ(t, "R");
    char long_alt[600];
    memset(long_alt, 'a', sizeof(long_alt) - 1);
    long_alt[sizeof(long_alt) - 1] = '\0';
    c.media[0].alt_text = long_alt;
    ap_li_doc_title(&c.job, 0, t, sizeof(t));
    CHECK(strlen(t) == AP_LI_DOC_TITLE_MAX);
}

static void test_parsers(void) {
    ap_li_doc_upload u;
    const char *ok = "{\"value\":{\"uploadUrlExpiresAt\":1650567510704,\"uploadUrl\":\"" UPLOAD
                     "d\",\"document\":\"" URN "\"}}";
    CHECK(ap_li_doc_parse_init(ok, strlen(ok), &u) == 0);
    CHECK_STR_EQ(u.document, URN);
    CHECK_STR_EQ(u.url, UPLOAD "d");
    CHECK(u.expires_at_ms == 1650567510704LL);
    ap_li_doc_upload_clear(&u);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"value\":{}}",
        "{\"value\":{\"uploadUrl\":\"u\",\"document\":\"urn:li:image:C1\"}}",
        "{\"value\":{\"uploadUrl\":\"u\",\"document\":\"urn:li:document:\"}}",
        "{\"value\":{\"uploadUrl\":\"\",\"document\":\"" URN "\"}}",
        "{\"value\":{\"uploadUrl\":3,\"document\":\"" URN "\"}}",
        "{\"value\":{\"uploadUrl\":\"u\",\"document\":\"" URN "\",\"uploadUrlExpiresAt\":\"x\"}}",
        "{\"value\":{\"uploadUrl\":\"u\",\"document\":\"urn:li:document:a/b\"}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(ap_li_doc_parse_init(bad[i], strlen(bad[i]), &u) != 0);
        CHECK(u.url == NULL && u.document[0] == '\0');
    }
    ap_li_asset_status s;
    char why[64];
    const char *failed = "{\"status\":\"PROCESSING_FAILED\",\"processingFailureReason\":\"x\"}";
    CHECK(ap_li_parse_asset_status(failed, strlen(failed), &s, why, sizeof(why)) == 0);
    CHECK(s == AP_LI_ASSET_PROCESSING_FAILED);
    CHECK_STR_EQ(why, "x");
    CHECK(ap_li_parse_asset_status("{\"status\":\"AVAILABLE\"}", 22, &s, why, sizeof(why)) == 0);
    CHECK(s == AP_LI_ASSET_AVAILABLE);
    CHECK(ap_li_parse_asset_status("{\"status\":\"NEW\"}", 16, &s, why, sizeof(why)) != 0);
    CHECK(ap_li_parse_asset_status("nope", 4, &s, why, sizeof(why)) != 0);
}

int main(void) {
    RUN(test_document_flow);
    RUN(test_put_resent);
    RUN(test_expired_upload_restarts);
    RUN(test_processing_failed);
    RUN(test_refusals);
    RUN(test_validate);
    RUN(test_title);
    RUN(test_parsers);
    return TEST_RESULT();
}
