/* fuzz_comment_response.c -- libFuzzer target: the answers a post's chain
 * reads (chain.h): a first comment's on Facebook, Instagram (Graph comments
 * edge) and LinkedIn (socialActions), and X's timeline read back for a
 * thread's part (referenced_tweets). Whatever comes back, the flow ends with
 * a well-formed result and never calls a comment live without an id.
 *
 * Input: byte 0 picks the HTTP status (and transport error / sent variants),
 * the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "flow_check.h"

static const long statuses[] = {200, 201, 204, 299, 400, 401, 403, 404,
                                429, 500, 502, 503, 504, 422, 426, 0};

static void run_flow(const ap_adapter *ad, const char *author, const char *parent,
                     ap_flow_mode mode, ap_http_response *res) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    ap_job job = job_init;
    ap_platform_config pc;
    ap_flow_input in;
    memset(&pc, 0, sizeof(pc));
    memset(&in, 0, sizeof(in));
    job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    job.generation = 1;
    job.platform = (char *)ad->name;
    job.text = "a comment";
    job.account_external_id = (char *)author;
    pc.base_url = "https://api.example";
    pc.api_version = "v1";
    in.job = &job;
    in.platform = &pc;
    in.token = "TOKEN";
    in.mode = mode;
    in.since_ms = 1795856400000;
    in.reply_to = parent;
    void *flow = ad->flow_new(&in);
    if (flow == NULL) abort();
    ap_http_request req, next;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&req, 0, sizeof(req));
    memset(&next, 0, sizeof(next));
    memset(&r, 0, sizeof(r));
    if (ad->step(flow, &in, NULL, &req, &wait, &r) != AP_STEP_REQUEST) abort();
    ap_step_kind k;
    int pages = 0;
    while ((k = ad->step(flow, &in, res, &next, &wait, &r)) == AP_STEP_REQUEST) {
        if (++pages > 12) abort(); /* read-backs stop on their own */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t ctl = data[0];
    bool transport = (ctl & 0x60) == 0x60, sent = ctl & 0x80;
    const ap_adapter *fb = ap_adapter_find("facebook"), *ig = ap_adapter_find("instagram"),
                     *li = ap_adapter_find("linkedin"), *x = ap_adapter_find("x");
    struct {
        const ap_adapter *ad;
        const char *author, *parent;
        bool verify_only;
    } flows[] = {{fb->comment, "4001", "4001_77", false},
                 {ig->comment, "17841000000000101", "1790000", false},
                 {li->comment, "urn:li:organization:42", "urn:li:share:7", false},
                 {x, "1234567890", "1500", true}};
    for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++)
        for (int mode = AP_FLOW_PUBLISH; mode <= AP_FLOW_VERIFY; mode++) {
            if (flows[i].verify_only && mode == AP_FLOW_PUBLISH) continue;
            ap_http_response res;
            memset(&res, 0, sizeof(res));
            res.status = transport ? 0 : statuses[ctl & 0x0f];
            res.transport_error = transport ? 28 : 0;
            res.request_sent = sent;
            res.body = malloc(size);
            if (res.body == NULL) return 0;
            memcpy(res.body, data + 1, size - 1);
            res.body[size - 1] = '\0';
            res.body_len = size - 1;
            run_flow(flows[i].ad, flows[i].author, flows[i].parent, (ap_flow_mode)mode, &res);
            ap_http_response_clear(&res);
        }
    return 0;
}
