/* test_chain.c -- posts of several messages: the chain helpers
 * (publishers/platforms/chain.c), their validation on every platform, X's
 * reply request and reply read-back, the attempt record's progress
 * (guard.c) and the engine's resume, result and outcome rules
 * (publishers/engine/chain_steps.c), all without a network. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "chain.h"
#include "ctl_post.h"
#include "engine.h"
#include "guard.h"
#include "test.h"

#define USER "1234567890123"

typedef struct chain_case {
    ap_job job;
    Autopost__V1__ThreadPart parts[30];
    Autopost__V1__ThreadPart *part_ptrs[30];
    char texts[30][32];
} chain_case;

static void case_init(chain_case *c, const char *platform, size_t nparts, const char *comment) {
    static const ap_job job_init = AUTOPOST__V1__PUBLISH_JOB__INIT;
    static const Autopost__V1__ThreadPart part_init = AUTOPOST__V1__THREAD_PART__INIT;
    memset(c, 0, sizeof(*c));
    c->job = job_init;
    c->job.schedule_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c->job.generation = 1;
    c->job.account_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    c->job.platform = (char *)platform;
    c->job.text = "1/ the post";
    c->job.link = "https://example.com/post";
    c->job.account_external_id = USER;
    for (size_t i = 0; i < nparts; i++) {
        c->parts[i] = part_init;
        snprintf(c->texts[i], sizeof(c->texts[i]), "%zu/ part", i + 2);
        c->parts[i].text = c->texts[i];
        c->part_ptrs[i] = &c->parts[i];
    }
    c->job.n_thread = nparts;
    c->job.thread = nparts ? c->part_ptrs : NULL;
    c->job.first_comment = (char *)(comment ? comment : "");
}

static void test_helpers(void) {
    chain_case c;
    case_init(&c, "x", 3, "a comment");
    CHECK(ap_chain_len(&c.job) == 4);
    CHECK(!ap_chain_is_comment(&c.job, 3));
    CHECK(ap_chain_is_comment(&c.job, 4));
    CHECK(ap_chain_parent(&c.job, 1) == 0);
    CHECK(ap_chain_parent(&c.job, 3) == 2);
    CHECK(ap_chain_parent(&c.job, 4) == 0); /* the comment answers the post */
    ap_job part;
    ap_chain_part_job(&c.job, 2, &part);
    CHECK_STR_EQ(part.text, "3/ part");
    CHECK_STR_EQ(part.link, "");
    CHECK(part.n_thread == 0);
    CHECK_STR_EQ(part.first_comment, "");
    CHECK_STR_EQ(part.account_external_id, USER);
    ap_chain_part_job(&c.job, 4, &part);
    CHECK_STR_EQ(part.text, "a comment");
    CHECK(part.n_media == 0);

    char ids[64] = "", one[16];
    CHECK(ap_chain_ids_count(ids) == 0);
    CHECK(ap_chain_ids_append(ids, sizeof(ids), "11"));
    CHECK(ap_chain_ids_append(ids, sizeof(ids), "22"));
    CHECK(!ap_chain_ids_append(ids, sizeof(ids), "3,3"));
    CHECK(!ap_chain_ids_append(ids, sizeof(ids), "3 3"));
    CHECK_STR_EQ(ids, "11,22");
    CHECK(ap_chain_ids_count(ids) == 2);
    CHECK(ap_chain_ids_nth(ids, 1, one, sizeof(one)));
    CHECK_STR_EQ(one, "22");
    CHECK(!ap_chain_ids_nth(ids, 2, one, sizeof(one)));
    char tiny[8] = "1234";
    CHECK(!ap_chain_ids_append(tiny, sizeof(tiny), "5678"));
    CHECK_STR_EQ(tiny, "1234"); /* untouched when it does not fit */
}

static void test_validate(void) {
    chain_case c;
    char why[512];
    const ap_adapter *x = ap_adapter_find("x");
    case_init(&c, "x", 24, "thanks for reading");
    CHECK(x->validate(&c.job, why, sizeof(why)));
    case_init(&c, "x", 25, NULL);
    CHECK(!x->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "thread: 25 parts; at most 24");
    /* A part over X's 280 weighted characters names its field. */
    case_init(&c, "x", 4, NULL);
    char *longer = malloc(300);
    memset(longer, 'a', 299);
    longer[299] = '\0';
    c.parts[3].text = longer;
    CHECK(!x->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "thread[3].text: text weighs 299");
    c.parts[3].text = "";
    CHECK(!x->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "thread[3].text: empty post");
    free(longer);
    case_init(&c, "x", 0, "");
    CHECK(x->validate(&c.job, why, sizeof(why)));
    /* Other platforms: refused with the reason. */
    case_init(&c, "facebook", 2, NULL);
    c.job.account_external_id = "123456";
    CHECK(!ap_adapter_find("facebook")->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "thread: facebook takes no threads");
    /* A LinkedIn comment is judged by its comment flow's rules. */
    case_init(&c, "linkedin", 0, "hello");
    c.job.account_external_id = "urn:li:organization:42";
    CHECK(ap_adapter_find("linkedin")->validate(&c.job, why, sizeof(why)));
    char *essay = malloc(1300);
    memset(essay, 'b', 1299);
    essay[1299] = '\0';
    c.job.first_comment = essay;
    CHECK(!ap_adapter_find("linkedin")->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "first_comment: a LinkedIn comment takes 1 to 1250 characters, not 1299");
    free(essay);
    case_init(&c, "instagram", 1, NULL);
    CHECK(!ap_adapter_find("instagram")->validate(&c.job, why, sizeof(why)));
    CHECK_CONTAINS(why, "thread: instagram takes no threads");
}

/* ---- X: a part is a reply, its read-back a reply to the parent ------------- */

static void x_input(ap_flow_input *in, ap_platform_config *pc, const ap_job *job, ap_flow_mode m,
                    const char *reply_to) {
    memset(pc, 0, sizeof(*pc));
    snprintf(pc->name, sizeof(pc->name), "x");
    pc->base_url = "https://api.x.example";
    pc->api_version = "2";
    memset(in, 0, sizeof(*in));
    in->job = job;
    in->platform = pc;
    in->token = "tok";
    in->mode = m;
    in->since_ms = 1795856460000;
    in->reply_to = reply_to;
}

static void test_x_reply_request(void) {
    chain_case c;
    case_init(&c, "x", 2, NULL);
    ap_job part;
    ap_chain_part_job(&c.job, 2, &part);
    ap_flow_input in;
    ap_platform_config pc;
    x_input(&in, &pc, &part, AP_FLOW_PUBLISH, "1500");
    const ap_adapter *x = ap_adapter_find("x");
    void *flow = x->flow_new(&in);
    ap_http_request req;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&r, 0, sizeof(r));
    CHECK(x->step(flow, &in, NULL, &req, &wait, &r) == AP_STEP_REQUEST);
    CHECK(req.once);
    json_t *body = json_loads(req.body, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(body, "text")), "3/ part");
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_object_get(body, "reply"), "in_reply_to_tweet_id")),
        "1500");
    json_decref(body);
    ap_http_request_clear(&req);
    x->flow_free(flow);
}

static ap_flow_result x_verify_reply(const char *reply_to, const char *answer, char *url,
                                     size_t url_len) {
    chain_case c;
    case_init(&c, "x", 2, NULL);
    ap_job part;
    ap_chain_part_job(&c.job, 2, &part);
    ap_flow_input in;
    ap_platform_config pc;
    x_input(&in, &pc, &part, AP_FLOW_VERIFY, reply_to);
    const ap_adapter *x = ap_adapter_find("x");
    void *flow = x->flow_new(&in);
    ap_http_request req, next;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&r, 0, sizeof(r));
    CHECK(x->step(flow, &in, NULL, &req, &wait, &r) == AP_STEP_REQUEST);
    snprintf(url, url_len, "%s", req.url);
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.status = 200;
    res.request_sent = true;
    res.body = strdup(answer);
    res.body_len = strlen(answer);
    memset(&next, 0, sizeof(next));
    CHECK(x->step(flow, &in, &res, &next, &wait, &r) == AP_STEP_DONE);
    ap_http_response_clear(&res);
    ap_http_request_clear(&req);
    ap_http_request_clear(&next);
    x->flow_free(flow);
    return r;
}

static void test_x_reply_read_back(void) {
    char url[1024];
    /* The same text as a reply to another tweet is not ours. */
    const char *elsewhere =
        "{\"data\":[{\"id\":\"31\",\"text\":\"3/ part\",\"referenced_tweets\":"
        "[{\"type\":\"replied_to\",\"id\":\"999\"}]},{\"id\":\"32\",\"text\":\"3/ part\"}],"
        "\"meta\":{\"result_count\":2}}";
    ap_flow_result r = x_verify_reply("1500", elsewhere, url, sizeof(url));
    CHECK_CONTAINS(url, "tweet.fields=created_at,text,referenced_tweets");
    CHECK(r.not_found);
    const char *ours = "{\"data\":[{\"id\":\"33\",\"text\":\"3/ part\",\"created_at\":"
                       "\"2026-11-28T09:02:00.000Z\",\"referenced_tweets\":[{\"type\":\"quoted\","
                       "\"id\":\"7\"},{\"type\":\"replied_to\",\"id\":\"1500\"}]}],"
                       "\"meta\":{\"result_count\":1}}";
    r = x_verify_reply("1500", ours, url, sizeof(url));
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "33");
}

/* ---- Facebook and Instagram: the comment edge --------------------------- */

static ap_flow_result graph_comment(const char *platform, ap_flow_mode mode, long status,
                                    const char *answer, char *url, size_t url_len, char *body,
                                    size_t body_len) {
    chain_case c;
    case_init(&c, platform, 0, "nice post");
    ap_job part;
    ap_chain_part_job(&c.job, 1, &part);
    ap_flow_input in;
    ap_platform_config pc;
    x_input(&in, &pc, &part, mode, "4001_77");
    pc.base_url = "https://graph.example";
    pc.api_version = "v19.0";
    const ap_adapter *a = ap_adapter_find(platform)->comment;
    CHECK(a != NULL);
    void *flow = a->flow_new(&in);
    ap_http_request req, next;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&r, 0, sizeof(r));
    CHECK(a->step(flow, &in, NULL, &req, &wait, &r) == AP_STEP_REQUEST);
    snprintf(url, url_len, "%s %s", req.method, req.url);
    snprintf(body, body_len, "%s%s", req.body ? req.body : "", req.once ? " (once)" : "");
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.status = status;
    res.request_sent = true;
    res.body = strdup(answer);
    res.body_len = strlen(answer);
    memset(&next, 0, sizeof(next));
    CHECK(a->step(flow, &in, &res, &next, &wait, &r) == AP_STEP_DONE);
    ap_http_response_clear(&res);
    ap_http_request_clear(&req);
    ap_http_request_clear(&next);
    a->flow_free(flow);
    return r;
}

static void test_linkedin_comment(void) {
    chain_case c;
    case_init(&c, "linkedin", 0, "well done");
    c.job.account_external_id = "urn:li:organization:42";
    ap_job part;
    ap_chain_part_job(&c.job, 1, &part);
    ap_flow_input in;
    ap_platform_config pc;
    x_input(&in, &pc, &part, AP_FLOW_PUBLISH, "urn:li:share:7");
    pc.base_url = "https://api.linkedin.example";
    pc.api_version = "202411";
    const ap_adapter *a = ap_adapter_find("linkedin")->comment;
    void *flow = a->flow_new(&in);
    ap_http_request req, next;
    ap_flow_result r;
    int64_t wait = 0;
    memset(&r, 0, sizeof(r));
    CHECK(a->step(flow, &in, NULL, &req, &wait, &r) == AP_STEP_REQUEST);
    CHECK(req.once);
    CHECK_STR_EQ(req.url, "https://api.linkedin.example/rest/socialActions/urn%3Ali%3Ashare%3A7/"
                          "comments");
    CHECK_STR_EQ(req.body, "{\"actor\":\"urn:li:organization:42\",\"object\":\"urn:li:share:7\","
                           "\"message\":{\"text\":\"well done\"}}");
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.status = 201;
    res.request_sent = true;
    res.body = strdup("{\"id\":\"6636\",\"$URN\":\"urn:li:comment:(urn:li:activity:1,6636)\"}");
    res.body_len = strlen(res.body);
    memset(&next, 0, sizeof(next));
    CHECK(a->step(flow, &in, &res, &next, &wait, &r) == AP_STEP_DONE);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "6636"); /* not the $URN: it holds a comma */
    ap_http_response_clear(&res);
    ap_http_request_clear(&req);
    a->flow_free(flow);
}

static void test_graph_comment(void) {
    char url[512], body[512];
    ap_flow_result r = graph_comment("facebook", AP_FLOW_PUBLISH, 200, "{\"id\":\"4001_77_9\"}",
                                     url, sizeof(url), body, sizeof(body));
    CHECK_STR_EQ(url, "POST https://graph.example/v19.0/4001_77/comments");
    CHECK_STR_EQ(body, "message=nice%20post (once)");
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "4001_77_9");
    /* A 5xx may come after Graph stored it: ambiguous, read back. */
    r = graph_comment("facebook", AP_FLOW_PUBLISH, 500,
                      "{\"error\":{\"code\":2,\"message\":\"unexpected\"}}", url, sizeof(url), body,
                      sizeof(body));
    CHECK(r.error_class == AP_CLASS_AMBIGUOUS);
    r = graph_comment("instagram", AP_FLOW_VERIFY, 200,
                      "{\"data\":[{\"id\":\"5\",\"text\":\"other\",\"timestamp\":"
                      "\"2026-11-28T09:05:00+0000\"},{\"id\":\"6\",\"text\":\"nice post\","
                      "\"timestamp\":\"2026-11-28T09:05:00+0000\"}],\"paging\":{}}",
                      url, sizeof(url), body, sizeof(body));
    CHECK_STR_EQ(url, "GET https://graph.example/v19.0/4001_77/comments?fields=id,text,timestamp"
                      "&limit=100");
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.external_id, "6");
    r = graph_comment("facebook", AP_FLOW_VERIFY, 200,
                      "{\"data\":[{\"id\":\"5\",\"message\":\"nice post\",\"created_time\":"
                      "\"2020-01-01T00:00:00+0000\"}]}",
                      url, sizeof(url), body, sizeof(body));
    CHECK(r.not_found); /* the same text from long before: not ours */
    /* Instagram takes a text-only comment though a post needs media. */
    chain_case c;
    char why[256];
    case_init(&c, "instagram", 0, "a comment");
    c.job.account_external_id = "17841000000000101";
    static Autopost__V1__Media m = AUTOPOST__V1__MEDIA__INIT;
    static Autopost__V1__Media *mp[1] = {&m};
    m.url = "https://cdn.example/a.jpg";
    m.type = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
    c.job.media = mp;
    c.job.n_media = 1;
    c.job.link = "";
    CHECK(ap_adapter_find("instagram")->validate(&c.job, why, sizeof(why)));
}

/* ---- the record's progress ---------------------------------------------- */

static void test_record_progress(void) {
    ap_guard_record rec, back;
    memset(&rec, 0, sizeof(rec));
    rec.state = AP_GUARD_STARTED;
    rec.attempt = 2;
    rec.at_ms = 1700000000000;
    rec.part = 3;
    snprintf(rec.chain_ids, sizeof(rec.chain_ids), "11,12,13");
    char buf[AP_GUARD_VALUE_LEN];
    ap_guard_format(buf, sizeof(buf), &rec, "pub-1");
    CHECK_STR_EQ(buf, "started attempt=2 at=1700000000000 by=pub-1 part=3 ids=11,12,13");
    CHECK(ap_guard_parse(buf, strlen(buf), &back) == 0);
    CHECK(back.state == AP_GUARD_STARTED && back.part == 3);
    CHECK_STR_EQ(back.chain_ids, "11,12,13");
    /* A published chain keeps every id; an old single post none. */
    rec.state = AP_GUARD_PUBLISHED;
    rec.part = 4;
    snprintf(rec.external_id, sizeof(rec.external_id), "11");
    snprintf(rec.chain_ids, sizeof(rec.chain_ids), "11,12,13,14");
    ap_guard_format(buf, sizeof(buf), &rec, "pub-1");
    CHECK_STR_EQ(buf, "published attempt=2 at=1700000000000 by=pub-1 id=11 part=4 ids=11,12,13,14");
    const char *old = "started attempt=1 at=5 by=pub-1 ended=1";
    CHECK(ap_guard_parse(old, strlen(old), &back) == 0);
    CHECK(back.part == 0 && back.chain_ids[0] == '\0' && back.ended);
    /* 26 ids of 19 digits fit the value. */
    memset(&rec, 0, sizeof(rec));
    rec.state = AP_GUARD_RETRY;
    rec.part = 25;
    for (int i = 0; i < 26; i++)
        CHECK(ap_chain_ids_append(rec.chain_ids, sizeof(rec.chain_ids), "1234567890123456789"));
    ap_guard_format(buf, sizeof(buf), &rec, "pub-1");
    CHECK(ap_guard_parse(buf, strlen(buf), &back) == 0);
    CHECK(ap_chain_ids_count(back.chain_ids) == 26);
}

/* ---- the engine's rules: resume, input, outcome, result ----------------- */

static void test_engine_resume_and_input(void) {
    chain_case c;
    case_init(&c, "x", 4, "comment");
    job_slot s;
    memset(&s, 0, sizeof(s));
    s.job = &c.job;
    ap_guard_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.state = AP_GUARD_STARTED;
    rec.part = 3;
    snprintf(rec.chain_ids, sizeof(rec.chain_ids), "11,12,13");
    engine_chain_restore(&s, &rec);
    CHECK(s.part == 3 && s.fenced_part == 3);
    engine_chain_input(&s);
    CHECK(s.in.job == &s.part_job);
    CHECK_STR_EQ(s.in.job->text, "4/ part");
    CHECK_STR_EQ(s.in.reply_to, "13");
    /* The comment answers the post, not the last part. */
    s.part = 5;
    CHECK(ap_chain_ids_append(s.chain_ids, sizeof(s.chain_ids), "14"));
    CHECK(ap_chain_ids_append(s.chain_ids, sizeof(s.chain_ids), "15"));
    engine_chain_input(&s);
    CHECK_STR_EQ(s.in.job->text, "comment");
    CHECK_STR_EQ(s.in.reply_to, "11");
    /* Every later write carries the progress. */
    ap_guard_record out;
    memset(&out, 0, sizeof(out));
    engine_chain_stamp(&s, &out);
    CHECK(out.part == 5);
    CHECK_STR_EQ(out.chain_ids, "11,12,13,14,15");
    /* A record whose ids do not add up is read as the post alone. */
    job_slot t;
    memset(&t, 0, sizeof(t));
    t.job = &c.job;
    rec.part = 3;
    snprintf(rec.chain_ids, sizeof(rec.chain_ids), "11,12");
    engine_chain_restore(&t, &rec);
    CHECK(t.part == 0);
    engine_chain_input(&t);
    CHECK(t.in.job == &c.job && t.in.reply_to == NULL);
}

static void test_engine_outcomes(void) {
    chain_case c;
    case_init(&c, "x", 4, "comment");
    job_slot s;
    memset(&s, 0, sizeof(s));
    s.job = &c.job;
    s.part = 3;
    snprintf(s.chain_ids, sizeof(s.chain_ids), "11,12,13");
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    ap_flow_fail(&r, AP_CLASS_PERMANENT, 403, "forbidden", "X refused it");
    Autopost__V1__Outcome o = AUTOPOST__V1__OUTCOME__OUTCOME_FAILED;
    engine_chain_terminal(&s, &o, &r);
    CHECK(o == AUTOPOST__V1__OUTCOME__OUTCOME_FAILED);
    CHECK_STR_EQ(r.error_message, "part 3 of the thread: X refused it; already live (not posted "
                                  "again): post 11, parts 12, 13");
    CHECK_STR_EQ(r.external_id, "11");
    char buf[AP_GUARD_CHAIN_IDS_LEN], *ids[8];
    CHECK(engine_chain_result_ids(&s, buf, sizeof(buf), ids, 8) == 2);
    CHECK_STR_EQ(ids[0], "12");
    CHECK_STR_EQ(ids[1], "13");
    /* The first comment failing for good leaves the post published. */
    s.part = 5;
    snprintf(s.chain_ids, sizeof(s.chain_ids), "11,12,13,14,15");
    memset(&r, 0, sizeof(r));
    ap_flow_fail(&r, AP_CLASS_PERMANENT, 403, "forbidden", "replies are limited");
    o = AUTOPOST__V1__OUTCOME__OUTCOME_FAILED;
    engine_chain_terminal(&s, &o, &r);
    CHECK(o == AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED);
    CHECK(r.error_class == AP_CLASS_NONE);
    CHECK_STR_EQ(r.error_code, "first_comment_failed");
    CHECK_CONTAINS(r.error_message, "the first comment failed: replies are limited");
    CHECK_STR_EQ(r.external_id, "11");
    /* A retry is untouched; the post alone has no part ids. */
    o = AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING;
    memset(&r, 0, sizeof(r));
    engine_chain_terminal(&s, &o, &r);
    CHECK(o == AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING && r.error_message[0] == '\0');
    memset(&s, 0, sizeof(s));
    s.job = &c.job;
    CHECK(engine_chain_result_ids(&s, buf, sizeof(buf), ids, 8) == 0);
}

/* The doors: ctl_post with a thread, judged per platform by the adapters,
 * the reason naming the field the API shows. */
static void test_ctl_post_thread(void) {
    ctl_post p;
    char why[512], field[64];
    const char *line = "{\"account_id\": \"7c9e6679-7425-40de-944b-e07fc1f90ae7\", \"at\": "
                       "\"now\", \"text\": \"1/3\", \"thread\": [{\"text\": \"2/3\"}, {\"text\": "
                       "\"\"}], \"first_comment\": \"c\"}";
    ctl_post_init(&p);
    CHECK(ctl_post_from_json(&p, line, strlen(line), why, sizeof(why)));
    CHECK(p.thread.n == 2);
    CHECK(!ctl_post_validate_platform(&p, "x", USER, why, sizeof(why)));
    CHECK_CONTAINS(why, "not valid for x: thread[1].text: empty post");
    CHECK(ctl_reason_chain_field(why, field, sizeof(field)));
    CHECK_STR_EQ(field, "thread[1].text");
    CHECK(!ctl_post_validate_platform(&p, "facebook", "123", why, sizeof(why)));
    CHECK(ctl_reason_chain_field(why, field, sizeof(field)));
    CHECK_STR_EQ(field, "thread");
    free(p.thread.parts[1].text);
    p.thread.parts[1].text = strdup("3/3");
    CHECK(ctl_post_validate_platform(&p, "x", USER, why, sizeof(why)));
    CHECK(ctl_post_validate_platform(&p, "threads", "2500000000000001", why, sizeof(why)));
    bool oom = true;
    char *stored = ap_thread_to_json(&p.thread, &oom);
    CHECK(!oom);
    CHECK_STR_EQ(stored, "[{\"text\":\"2/3\"},{\"text\":\"3/3\"}]");
    free(stored);
    ctl_post_free(&p);
    /* A recurring post is one message. */
    line = "{\"account_id\": \"7c9e6679-7425-40de-944b-e07fc1f90ae7\", \"text\": \"a\", "
           "\"first_comment\": \"c\", \"recurrence\": {\"rrule\": \"FREQ=DAILY\", \"tz\": "
           "\"UTC\", \"start\": \"2030-01-01T09:00:00\"}}";
    ctl_post_init(&p);
    CHECK(!ctl_post_from_json(&p, line, strlen(line), why, sizeof(why)));
    CHECK_CONTAINS(why, "a recurring post is one message");
    ctl_post_free(&p);
}

int main(void) {
    RUN(test_ctl_post_thread);
    RUN(test_helpers);
    RUN(test_validate);
    RUN(test_x_reply_request);
    RUN(test_x_reply_read_back);
    RUN(test_graph_comment);
    RUN(test_linkedin_comment);
    RUN(test_record_progress);
    RUN(test_engine_resume_and_input);
    RUN(test_engine_outcomes);
    return TEST_RESULT();
}
