/* test_deferral.c -- which answers wait for a limit instead of using up an
 * attempt (publishers/engine/deferral.c), and the shared pause table's "pause"
 * keys (publishers/engine/accounts.c, without a server: ap_accounts_apply is what
 * the watcher calls). */
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "deferral.h"
#include "test.h"

#define HOUR (3600 * 1000LL)
#define ACCT "11111111-1111-4111-8111-111111111111"

static ap_flow_result result(ap_error_class cls, long status, int64_t hint, ap_pause_scope p) {
    ap_flow_result r;
    memset(&r, 0, sizeof(r));
    r.error_class = cls;
    r.http_status = status;
    r.retry_after_ms = hint;
    r.pause = p;
    return r;
}

static void test_quota_always_defers(void) {
    ap_deferral d;
    ap_flow_result r = result(AP_CLASS_QUOTA, 400, 0, AP_PAUSE_NONE);
    /* No reset time from the platform: the configured quota_wait. */
    CHECK(ap_deferral_decide(&r, HOUR, &d));
    CHECK(d.wait_ms == HOUR && d.scope == AP_PAUSE_ACCOUNT);
    r = result(AP_CLASS_QUOTA, 429, 5000, AP_PAUSE_ACCOUNT);
    CHECK(ap_deferral_decide(&r, HOUR, &d));
    CHECK(d.wait_ms == 5000 && d.scope == AP_PAUSE_ACCOUNT);
    r = result(AP_CLASS_QUOTA, 429, 5000, AP_PAUSE_APP);
    CHECK(ap_deferral_decide(&r, HOUR, &d) && d.scope == AP_PAUSE_APP);
}

static void test_rate_limit_with_hint_defers(void) {
    ap_deferral d;
    /* The adapter recognised a rate limit: even a short hint defers (a nak
     * would count a delivery). */
    ap_flow_result r = result(AP_CLASS_RETRY, 400, 1000, AP_PAUSE_ACCOUNT);
    CHECK(ap_deferral_decide(&r, HOUR, &d));
    CHECK(d.wait_ms == 1000 && d.scope == AP_PAUSE_ACCOUNT);
    r = result(AP_CLASS_RETRY, 400, 60000, AP_PAUSE_APP);
    CHECK(ap_deferral_decide(&r, HOUR, &d) && d.scope == AP_PAUSE_APP && d.wait_ms == 60000);
    /* A plain 429 with Retry-After from an adapter that sets no scope. */
    r = result(AP_CLASS_RETRY, 429, 2000, AP_PAUSE_NONE);
    CHECK(ap_deferral_decide(&r, HOUR, &d) && d.scope == AP_PAUSE_ACCOUNT && d.wait_ms == 2000);
    /* A broken hint is capped. */
    r = result(AP_CLASS_RETRY, 429, 400 * 24 * HOUR, AP_PAUSE_ACCOUNT);
    CHECK(ap_deferral_decide(&r, HOUR, &d) && d.wait_ms == AP_DEFER_MAX_MS);
}

static void test_everything_else_is_not_a_limit(void) {
    ap_deferral d;
    /* 429 without any hint: an ordinary retry, bounded by max_attempts. */
    ap_flow_result r = result(AP_CLASS_RETRY, 429, 0, AP_PAUSE_NONE);
    CHECK(!ap_deferral_decide(&r, HOUR, &d));
    /* A 503 with Retry-After is an outage, not a limit. */
    r = result(AP_CLASS_RETRY, 503, 30000, AP_PAUSE_NONE);
    CHECK(!ap_deferral_decide(&r, HOUR, &d));
    /* Never for an outcome that may be live, nor for final ones. */
    r = result(AP_CLASS_AMBIGUOUS, 429, 30000, AP_PAUSE_ACCOUNT);
    CHECK(!ap_deferral_decide(&r, HOUR, &d));
    r = result(AP_CLASS_PERMANENT, 400, 30000, AP_PAUSE_ACCOUNT);
    CHECK(!ap_deferral_decide(&r, HOUR, &d));
    r = result(AP_CLASS_NONE, 200, 30000, AP_PAUSE_NONE);
    CHECK(!ap_deferral_decide(&r, HOUR, &d));
    CHECK(d.wait_ms == 0 && d.scope == AP_PAUSE_NONE);
}

static void apply(ap_accounts *a, const char *key, const char *v) {
    ap_accounts_apply(a, key, v, v ? strlen(v) : 0, v == NULL, 1);
}

static void test_pause_table(void) {
    ap_accounts *a = NULL;
    char why[64], key[96];
    bool app = true;
    CHECK(ap_accounts_new(&a) == AP_OK);
    if (a == NULL) return;
    CHECK(ap_accounts_paused_until(a, ACCT, "x", why, sizeof(why), &app) == 0);
    CHECK(!app && why[0] == '\0');

    char *v = ap_acct_pause_value(5000, 1000, "pub-1", "rate limited\nby X");
    CHECK_STR_EQ(v, "until=5000 at=1000 by=pub-1 reason=rate limited by X");
    ap_acct_key(key, sizeof(key), "pause", ACCT);
    CHECK_STR_EQ(key, "pause." ACCT);
    apply(a, key, v);
    free(v);
    CHECK(ap_accounts_paused_until(a, ACCT, "x", why, sizeof(why), &app) == 5000);
    CHECK(!app);
    CHECK_STR_EQ(why, "rate limited by X");
    /* Another account is not paused by it. */
    CHECK(ap_accounts_paused_until(a, "22222222-2222-4222-8222-222222222222", "x", NULL, 0, &app) ==
          0);

    /* A replayed older value never shortens a pause. */
    apply(a, key, "until=3000 at=900 by=pub-2 reason=older");
    CHECK(ap_accounts_paused_until(a, ACCT, "x", why, sizeof(why), &app) == 5000);

    /* The app's pause covers every account of its platform only. */
    ap_acct_app_pause_key(key, sizeof(key), "x");
    CHECK_STR_EQ(key, "pause.app.x");
    apply(a, key, "until=9000 at=1000 by=pub-1 reason=app limit");
    CHECK(ap_accounts_paused_until(a, ACCT, "x", why, sizeof(why), &app) == 9000);
    CHECK(app);
    CHECK_STR_EQ(why, "app limit");
    CHECK(ap_accounts_paused_until(a, "33333333-3333-4333-8333-333333333333", "x", NULL, 0, &app) ==
          9000);
    CHECK(ap_accounts_paused_until(a, ACCT, "threads", NULL, 0, &app) == 5000 && !app);

    /* Deleting the key lifts the pause. */
    apply(a, key, NULL);
    CHECK(ap_accounts_paused_until(a, ACCT, "x", NULL, 0, &app) == 5000 && !app);
    ap_accounts_free(a);
}

int main(void) {
    RUN(test_quota_always_defers);
    RUN(test_rate_limit_with_hint_defers);
    RUN(test_everything_else_is_not_a_limit);
    RUN(test_pause_table);
    return TEST_RESULT();
}
