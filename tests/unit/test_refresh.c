/* test_refresh.c -- the token refresh decisions (publishers/engine/refresh.c) and
 * the shared account table (publishers/engine/accounts.c), without a network. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "refresh.h"
#include "test.h"

#define ACCOUNT "5b2f8a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"

static ap_platform_config platform(const char *token_url) {
    ap_platform_config pc;
    memset(&pc, 0, sizeof(pc));
    snprintf(pc.name, sizeof(pc.name), "x");
    pc.token_url = (char *)token_url;
    pc.client_id = "client-1";
    pc.token_auth = "basic";
    pc.token_refresh_margin_ms = 60000;
    return pc;
}

static void when_to_refresh(void) {
    ap_platform_config pc = platform("https://api.x.test/2/oauth2/token");
    ap_platform_config off = platform(NULL);
    ap_credential c = {.access_token = "a", .refresh_token = "r", .expires_at_ms = 1000000};
    CHECK(!ap_refresh_due(&pc, &c, 1000000 - 60001)); /* outside the margin */
    CHECK(ap_refresh_due(&pc, &c, 1000000 - 60000));  /* margin reached */
    CHECK(ap_refresh_due(&pc, &c, 2000000));          /* expired */
    CHECK(!ap_refresh_due(&off, &c, 2000000));        /* no token_url: never */
    CHECK(ap_refresh_possible(&pc, &c) && !ap_refresh_possible(&off, &c));
    ap_credential no_rt = {.access_token = "a", .expires_at_ms = 1000000};
    CHECK(!ap_refresh_due(&pc, &no_rt, 2000000) && !ap_refresh_possible(&pc, &no_rt));
    ap_credential no_expiry = {.access_token = "a", .refresh_token = "r"};
    CHECK(!ap_refresh_due(&pc, &no_expiry, 2000000)); /* only after a REAUTH answer */
    CHECK(ap_refresh_possible(&pc, &no_expiry));
    CHECK(ap_refresh_credential_expired(&c, 1000000) && !ap_refresh_credential_expired(&c, 999999));
    CHECK(!ap_refresh_credential_expired(&no_expiry, 1));
}

static void lock_decisions(void) {
    ap_refresh_lock none = {0};
    ap_refresh_lock running = {.present = true, .at_ms = 1000};
    ap_refresh_lock ambiguous = {.present = true, .ambiguous = true, .at_ms = 1000};
    CHECK(ap_refresh_lock_decide(&none, 5000, 100, 200) == AP_LOCK_TAKE);
    CHECK(ap_refresh_lock_decide(&running, 1099, 100, 200) == AP_LOCK_WAIT);
    CHECK(ap_refresh_lock_decide(&running, 1100, 100, 200) == AP_LOCK_TAKEOVER);
    /* An unanswered refresh is not retried before its cool-down... */
    CHECK(ap_refresh_lock_decide(&ambiguous, 1199, 100, 200) == AP_LOCK_COOLDOWN);
    /* ...and then by one replica (compare-and-set on the lock). */
    CHECK(ap_refresh_lock_decide(&ambiguous, 1200, 100, 200) == AP_LOCK_TAKEOVER);
}

static const char *header(const ap_http_request *r, const char *name) {
    for (int i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

static void the_request(void) {
    ap_platform_config pc = platform("https://api.x.test/2/oauth2/token");
    ap_http_request req;
    CHECK(ap_refresh_request(&req, &pc, "s3cret", "rt/+1") == AP_OK);
    CHECK_STR_EQ(req.method, "POST");
    CHECK_STR_EQ(req.url, "https://api.x.test/2/oauth2/token");
    CHECK_STR_EQ(req.body, "grant_type=refresh_token&refresh_token=rt%2F%2B1&client_id=client-1");
    /* base64("client-1:s3cret") */
    CHECK_STR_EQ(header(&req, "Authorization"), "Basic Y2xpZW50LTE6czNjcmV0");
    CHECK_STR_EQ(header(&req, "Content-Type"), "application/x-www-form-urlencoded");
    ap_http_request_clear(&req);

    pc.token_auth = "body"; /* LinkedIn: client credentials in the form */
    CHECK(ap_refresh_request(&req, &pc, "s3cret", "rt") == AP_OK);
    CHECK_CONTAINS(req.body, "client_id=client-1&client_secret=s3cret");
    CHECK(header(&req, "Authorization") == NULL);
    ap_http_request_clear(&req);

    CHECK(ap_refresh_request(&req, &pc, NULL, "rt") == AP_OK); /* public client */
    CHECK(strstr(req.body, "client_secret") == NULL && header(&req, "Authorization") == NULL);
    ap_http_request_clear(&req);
}

static ap_http_response answer(long status, const char *body, bool sent) {
    ap_http_response r;
    memset(&r, 0, sizeof(r));
    r.status = status;
    r.request_sent = sent;
    r.body = body ? strdup(body) : NULL;
    r.body_len = body ? strlen(body) : 0;
    snprintf(r.transport_message, sizeof(r.transport_message), "%s",
             status ? "" : "Operation timed out");
    return r;
}

static ap_refresh_outcome parse(long status, const char *body, bool sent, ap_credential *out,
                                char *msg) {
    ap_credential old = {.access_token = "old-at", .refresh_token = "old-rt", .issued_at_ms = 500};
    ap_http_response r = answer(status, body, sent);
    ap_refresh_outcome o = ap_refresh_parse(&r, &old, 10000, out, msg, 256);
    ap_http_response_clear(&r);
    return o;
}

static void answers(void) {
    ap_credential c;
    char msg[256];
    CHECK(parse(200,
                "{\"token_type\":\"bearer\",\"expires_in\":7200,\"access_token\":\"new-at\","
                "\"refresh_token\":\"new-rt\"}",
                true, &c, msg) == AP_REFRESH_OK);
    CHECK_STR_EQ(c.access_token, "new-at");
    CHECK_STR_EQ(c.refresh_token, "new-rt");
    CHECK(c.expires_at_ms == 10000 + 7200 * 1000);
    CHECK(c.issued_at_ms == 10000);
    CHECK(strstr(msg, "new-") == NULL); /* never a token in a message */
    ap_credential_wipe(&c);

    /* No rotation (LinkedIn may keep its refresh token): the old one stays. */
    CHECK(parse(200, "{\"access_token\":\"new-at\",\"expires_in\":60}", true, &c, msg) ==
          AP_REFRESH_OK);
    CHECK_STR_EQ(c.refresh_token, "old-rt");
    ap_credential_wipe(&c);

    CHECK(parse(400, "{\"error\":\"invalid_grant\",\"error_description\":\"used\"}", true, &c,
                msg) == AP_REFRESH_INVALID_GRANT);
    CHECK_CONTAINS(msg, "invalid_grant");
    CHECK(c.access_token == NULL);
    /* Proven not consumed: nothing sent, rate limited, unavailable, a
     * client error other than invalid_grant. */
    CHECK(parse(0, NULL, false, &c, msg) == AP_REFRESH_NOT_DONE);
    CHECK(parse(429, "{}", true, &c, msg) == AP_REFRESH_NOT_DONE);
    CHECK(parse(503, NULL, true, &c, msg) == AP_REFRESH_NOT_DONE);
    CHECK(parse(401, "{\"error\":\"invalid_client\"}", true, &c, msg) == AP_REFRESH_NOT_DONE);
    /* May have been consumed: sent without an answer, a gateway error, a
     * success we cannot read. */
    CHECK(parse(0, NULL, true, &c, msg) == AP_REFRESH_AMBIGUOUS);
    CHECK_CONTAINS(msg, "no answer");
    CHECK(parse(502, "<html>", true, &c, msg) == AP_REFRESH_AMBIGUOUS);
    CHECK(parse(200, "{\"token_type\":\"bearer\"}", true, &c, msg) == AP_REFRESH_AMBIGUOUS);
    CHECK(parse(200, "not json", true, &c, msg) == AP_REFRESH_AMBIGUOUS);
    CHECK(c.access_token == NULL);

    /* issued_at only grows, even with a clock behind the old credential. */
    ap_credential old = {.access_token = "a", .refresh_token = "r", .issued_at_ms = 20000};
    ap_http_response r = answer(200, "{\"access_token\":\"n\"}", true);
    CHECK(ap_refresh_parse(&r, &old, 10000, &c, msg, sizeof(msg)) == AP_REFRESH_OK);
    CHECK(c.issued_at_ms == 20001 && c.expires_at_ms == 0);
    ap_credential_wipe(&c);
    ap_http_response_clear(&r);
}

static void apply_value(ap_accounts *a, const char *kind, char *value, uint64_t rev) {
    char key[96];
    ap_acct_key(key, sizeof(key), kind, ACCOUNT);
    CHECK(value != NULL);
    if (value) ap_accounts_apply(a, key, value, strlen(value), false, rev);
    free(value);
}

static void shared_table(void) {
    ap_accounts *a = NULL;
    CHECK(ap_accounts_new(&a) == AP_OK);
    ap_acct_view v;
    CHECK(!ap_accounts_lookup(a, ACCOUNT, 0, &v));
    CHECK(!ap_acct_blocked(&v, "d1", 0));

    /* A reauth mark refuses that credential and older ones, not newer. */
    apply_value(a, "reauth",
                ap_acct_reauth_value("d1", 100, 5, "pub-1", "Session has expired\nline two"), 1);
    CHECK(ap_accounts_lookup(a, ACCOUNT, 0, &v));
    CHECK(v.reauth);
    CHECK_STR_EQ(v.reauth_reason, "Session has expired line two");
    CHECK(ap_acct_blocked(&v, "d1", 100));
    CHECK(ap_acct_blocked(&v, "d0", 99));
    CHECK(!ap_acct_blocked(&v, "d2", 100));
    CHECK(!ap_acct_blocked(&v, "d3", 200));
    ap_acct_view_clear(&v);

    /* A shared credential: copied only when newer than the caller's. */
    const uint8_t blob[] = {'A', 'P', '1', 0, 1, 2, 0xff, 0xfe, 7};
    apply_value(a, "cred", ap_acct_cred_value(blob, sizeof(blob), 300, "pub-2"), 2);
    CHECK(ap_accounts_lookup(a, ACCOUNT, 300, &v) && v.cred == NULL);
    CHECK(v.cred_issued_at_ms == 300);
    ap_acct_view_clear(&v);
    CHECK(ap_accounts_lookup(a, ACCOUNT, 299, &v) && v.cred != NULL);
    CHECK(v.cred_len == sizeof(blob) && memcmp(v.cred, blob, sizeof(blob)) == 0);
    ap_acct_view_clear(&v);
    /* An older value replayed by the watch does not replace a newer one. */
    const uint8_t older[] = {1, 2, 3, 4};
    apply_value(a, "cred", ap_acct_cred_value(older, sizeof(older), 250, "pub-3"), 3);
    CHECK(ap_accounts_lookup(a, ACCOUNT, 0, &v) && v.cred_len == sizeof(blob));
    ap_acct_view_clear(&v);

    /* The refresh lock: running, ambiguous, released; stale revisions ignored. */
    apply_value(a, "refresh", ap_acct_lock_value(false, 777, "pub-1"), 10);
    CHECK(ap_accounts_lookup(a, ACCOUNT, INT64_MAX, &v));
    CHECK(v.lock.present && !v.lock.ambiguous && v.lock.at_ms == 777 && v.lock.revision == 10);
    apply_value(a, "refresh", ap_acct_lock_value(true, 888, "pub-1"), 11);
    CHECK(ap_accounts_lookup(a, ACCOUNT, INT64_MAX, &v) && v.lock.ambiguous && v.lock.at_ms == 888);
    apply_value(a, "refresh", ap_acct_lock_value(false, 1, "late"), 9);
    CHECK(ap_accounts_lookup(a, ACCOUNT, INT64_MAX, &v) && v.lock.ambiguous);
    char key[96];
    ap_acct_key(key, sizeof(key), "refresh", ACCOUNT);
    ap_accounts_apply(a, key, NULL, 0, true, 12);
    CHECK(ap_accounts_lookup(a, ACCOUNT, INT64_MAX, &v) && !v.lock.present);
    /* Deleting the mark resumes the account even for the refused credential. */
    ap_acct_key(key, sizeof(key), "reauth", ACCOUNT);
    ap_accounts_apply(a, key, NULL, 0, true, 13);
    CHECK(ap_accounts_lookup(a, ACCOUNT, INT64_MAX, &v) && !ap_acct_blocked(&v, "d1", 100));
    /* Keys of no known kind, or without a dot, are ignored. */
    ap_accounts_apply(a, "nodot", "x", 1, false, 14);
    ap_accounts_apply(a, "other." ACCOUNT, "x", 1, false, 15);
    ap_accounts_free(a);
    ap_accounts_free(NULL);
}

/* A token-endpoint answer is untrusted input: a CR/LF in a token would become
 * header lines on the next request, and a huge expires_in overflowed "* 1000". */
static void hostile_answers(void) {
    ap_credential c;
    char msg[256];
    CHECK(parse(200, "{\"access_token\":\"at\\r\\nX-Injected: 1\"}", true, &c, msg) ==
          AP_REFRESH_AMBIGUOUS);
    CHECK_CONTAINS(msg, "control character");
    CHECK(c.access_token == NULL);
    CHECK(parse(200, "{\"access_token\":\"at\",\"refresh_token\":\"rt\\n\"}", true, &c, msg) ==
          AP_REFRESH_AMBIGUOUS);
    CHECK(c.refresh_token == NULL);
    CHECK(parse(200, "{\"access_token\":\"at\\u007f\"}", true, &c, msg) == AP_REFRESH_AMBIGUOUS);

    CHECK(parse(200, "{\"access_token\":\"at\",\"expires_in\":9223372036854775807}", true, &c,
                msg) == AP_REFRESH_OK);
    CHECK(c.expires_at_ms == 10000 + AP_REFRESH_EXPIRES_IN_MAX * 1000);
    ap_credential_wipe(&c);
}

/* service.instance is bounded by the config, but the value builders must
 * size their buffers from it anyway (a 300-byte name overflowed the heap). */
static void long_instance_values(void) {
    char instance[301];
    memset(instance, 'i', 300);
    instance[300] = '\0';
    uint8_t blob[48];
    memset(blob, 7, sizeof(blob));
    char *v = ap_acct_cred_value(blob, sizeof(blob), 300, instance);
    CHECK(v != NULL && strstr(v, instance) != NULL && strstr(v, " blob=") != NULL);
    free(v);
    v = ap_acct_lock_value(true, 1, instance);
    CHECK(v != NULL && strstr(v, instance) != NULL);
    free(v);
    v = ap_acct_pause_value(2, 1, instance, "why");
    CHECK(v != NULL && strstr(v, "reason=why") != NULL);
    free(v);
    v = ap_acct_reauth_value("d", 1, 2, instance, "why");
    CHECK(v != NULL && strstr(v, "reason=why") != NULL);
    free(v);
}

int main(void) {
    RUN(when_to_refresh);
    RUN(lock_decisions);
    RUN(the_request);
    RUN(answers);
    RUN(hostile_answers);
    RUN(long_instance_values);
    RUN(shared_table);
    return TEST_RESULT();
}
