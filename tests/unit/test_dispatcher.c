/* test_dispatcher.c -- the dispatcher's pure parts: PostgreSQL array
 * literals (common/ap_pg_array.h), which result decides a row, the batch
 * fold, advisories, and what the store's statements the fold feeds
 * (store/sql) say. The SQL itself is exercised against a real database by
 * the e2e tests. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "store_sql.h"
#include "test.h"

#define SID_A "0b6f2f5e-0000-4000-8000-00000000000a"
#define SID_B "0b6f2f5e-0000-4000-8000-00000000000b"
#define SID_C "0b6f2f5e-0000-4000-8000-00000000000c"

/* ---- a reader for array literals, as PostgreSQL parses them ------------- */

/* Splits a one-dimensional array literal into elements (NULL for an
 * unquoted NULL). Returns the element count, or -1 if malformed. Only what
 * the builder emits: quoted elements or bare tokens, no nesting. */
static int parse_array(const char *lit, char **out, int max) {
    int n = 0;
    const char *p = lit;
    if (*p++ != '{') return -1;
    if (*p == '}') return p[1] == '\0' ? 0 : -1;
    for (;;) {
        if (n == max) return -1;
        char *buf = malloc(strlen(lit) + 1), *o = buf;
        if (*p == '"') {
            for (p++; *p != '"'; p++) {
                if (*p == '\0') return free(buf), -1;
                if (*p == '\\') p++;
                *o++ = *p;
            }
            p++;
            *o = '\0';
            out[n++] = buf;
        } else {
            while (*p && *p != ',' && *p != '}') *o++ = *p++;
            *o = '\0';
            if (strcmp(buf, "NULL") == 0) {
                free(buf);
                buf = NULL;
            }
            out[n++] = buf;
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}' && p[1] == '\0') return n;
        return -1;
    }
}

static void free_elems(char **e, int n) {
    for (int i = 0; i < n; i++) free(e[i]);
}

/* ---- array literals ------------------------------------------------------ */

static void test_array_empty_and_ints(void) {
    ap_pg_array a;
    ap_pg_array_init(&a);
    char *s = ap_pg_array_finish(&a);
    CHECK_STR_EQ(s, "{}");
    free(s);

    ap_pg_array_int(&a, 1);
    ap_pg_array_null(&a);
    ap_pg_array_int(&a, -42);
    ap_pg_array_int(&a, INT64_MAX);
    s = ap_pg_array_finish(&a);
    CHECK_STR_EQ(s, "{1,NULL,-42,9223372036854775807}");
    free(s);
    ap_pg_array_free(&a);
}

static void test_array_text_escaping(void) {
    const char *nasty[] = {
        "plain",       "",      "NULL",     "null",       "with \"quotes\"",
        "back\\slash", "a,b,c", "{braces}", "  padded  ", "tab\there\nnewline",
        "\\\"",        "\"",    "\\",       "'single'",   "Tiếng Việt có dấu 🎉",
    };
    size_t n = sizeof(nasty) / sizeof(nasty[0]);
    ap_pg_array a;
    ap_pg_array_init(&a);
    for (size_t i = 0; i < n; i++) ap_pg_array_text(&a, nasty[i]);
    ap_pg_array_text(&a, NULL);
    char *lit = ap_pg_array_finish(&a);
    CHECK(lit != NULL);
    char *elems[32];
    int got = parse_array(lit, elems, 32);
    CHECK(got == (int)n + 1);
    for (size_t i = 0; got == (int)n + 1 && i < n; i++) CHECK_STR_EQ(elems[i], nasty[i]);
    if (got == (int)n + 1) CHECK(elems[n] == NULL); /* NULL pointer -> SQL NULL */
    /* The word NULL as data stays quoted, so it is not an SQL NULL. */
    CHECK_CONTAINS(lit, "\"NULL\"");
    if (got > 0) free_elems(elems, got);
    free(lit);
}

static void test_array_invalid_utf8_replaced(void) {
    struct {
        const char *in, *want;
    } cases[] = {
        {"ok \xC3\xA9", "ok \xC3\xA9"},                                   /* é stays */
        {"bad \xFF end", "bad \xEF\xBF\xBD end"},                         /* stray byte */
        {"over \xC0\xAF", "over \xEF\xBF\xBD\xEF\xBF\xBD"},               /* overlong '/' */
        {"sur \xED\xA0\x80", "sur \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {"cut \xE2\x82", "cut \xEF\xBF\xBD\xEF\xBF\xBD"},                 /* truncated at the end */
        {"big \xF4\x90\x80\x80", "big \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"emoji \xF0\x9F\x8E\x89", "emoji \xF0\x9F\x8E\x89"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ap_pg_array a;
        ap_pg_array_init(&a);
        ap_pg_array_text(&a, cases[i].in);
        char *lit = ap_pg_array_finish(&a);
        char *e[2] = {0};
        CHECK(parse_array(lit, e, 2) == 1);
        CHECK_STR_EQ(e[0], cases[i].want);
        free(e[0]);
        free(lit);
    }
}

static void test_array_long_text(void) {
    /* Growth: an error message at the decoder's 2048-byte limit, all quotes. */
    char big[2049];
    memset(big, '"', 2048);
    big[2048] = '\0';
    ap_pg_array a;
    ap_pg_array_init(&a);
    for (int i = 0; i < 100; i++) ap_pg_array_text(&a, big);
    char *lit = ap_pg_array_finish(&a);
    char *e[128];
    int got = parse_array(lit, e, 128);
    CHECK(got == 100);
    for (int i = 0; i < got; i++) CHECK(e[i] && strcmp(e[i], big) == 0);
    if (got > 0) free_elems(e, got);
    free(lit);
}

/* ---- precedence and fold ------------------------------------------------- */

static ap_result *mk(const char *sid, uint32_t gen, Autopost__V1__Outcome o, uint32_t attempt) {
    ap_result *r = calloc(1, sizeof(*r));
    autopost__v1__publish_result__init(r);
    r->schedule_id = (char *)sid;
    r->generation = gen;
    r->outcome = o;
    r->attempt = attempt;
    return r;
}

#define PUB AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED
#define RETRY AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING
#define FAIL AUTOPOST__V1__OUTCOME__OUTCOME_FAILED
#define UNCONF AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED
#define CANCEL AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED
#define DEFER AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED

static void test_precedence(void) {
    ap_result *pub1 = mk(SID_A, 1, PUB, 1), *fail5 = mk(SID_A, 1, FAIL, 5),
              *retry9 = mk(SID_A, 1, RETRY, 9), *retry2 = mk(SID_A, 1, RETRY, 2),
              *unconf3 = mk(SID_A, 1, UNCONF, 3), *cancel1 = mk(SID_A, 1, CANCEL, 1);
    CHECK(ap_fold_precedence(pub1, fail5) > 0); /* published wins whatever the attempt */
    CHECK(ap_fold_precedence(pub1, retry9) > 0);
    CHECK(ap_fold_precedence(fail5, retry9) > 0); /* terminal beats a later retrying */
    CHECK(ap_fold_precedence(retry9, retry2) > 0);
    CHECK(ap_fold_precedence(retry2, retry9) < 0);
    CHECK(ap_fold_precedence(fail5, unconf3) > 0); /* among terminals, the higher attempt */
    CHECK(ap_fold_precedence(unconf3, cancel1) > 0);
    CHECK(ap_fold_precedence(retry2, retry2) == 0);
    /* An expired result ends its generation like the other terminals, and
     * a published one (the post is live after all) still wins over it. */
    ap_result *exp2 = mk(SID_A, 1, AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED, 2);
    CHECK(ap_fold_precedence(exp2, retry9) > 0);
    CHECK(ap_fold_precedence(pub1, exp2) > 0);
    CHECK(ap_terminal_status_of("expired") == AP_TERMINAL_EXPIRED);
    CHECK(strcmp(ap_outcome_name(AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED), "expired") == 0);
    free(pub1), free(fail5), free(retry9), free(retry2), free(unconf3), free(cancel1), free(exp2);
}

/* Reads column `col` of the update (or history) parameters. */
static int column(char *const *params, int col, char **out, int max) {
    return parse_array(params[col], out, max);
}

static void test_fold_collapses_per_schedule(void) {
    /* Stream order: B retrying 1, A retrying 1, A published 2, A retrying 3
     * (late), B failed 2, C gen 1 retrying, C gen 2 published. */
    ap_result *rs[] = {mk(SID_B, 1, RETRY, 1), mk(SID_A, 1, RETRY, 1), mk(SID_A, 1, PUB, 2),
                       mk(SID_A, 1, RETRY, 3), mk(SID_B, 1, FAIL, 2),  mk(SID_C, 1, RETRY, 1),
                       mk(SID_C, 2, PUB, 1)};
    size_t n = sizeof(rs) / sizeof(rs[0]);
    rs[2]->external_post_id = "123_456";
    rs[2]->finished_at_ms = 1700000000123;
    rs[4]->error_class = AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_PERMANENT;
    rs[4]->error_code = "100";
    rs[4]->error_message = "Invalid parameter, \"message\" {x}";

    ap_fold f;
    ap_fold_init(&f);
    CHECK(ap_fold_build(&f, rs, n) == AP_OK);
    CHECK(f.nhistory == n);
    CHECK(f.nupdates == 4); /* A/1, B/1, C/1, C/2 */

    char *e[16];
    int got = column(f.update, 0, e, 16); /* ids, sorted */
    CHECK(got == 4);
    if (got == 4) {
        CHECK_STR_EQ(e[0], SID_A);
        CHECK_STR_EQ(e[1], SID_B);
        CHECK_STR_EQ(e[2], SID_C);
        CHECK_STR_EQ(e[3], SID_C);
    }
    if (got > 0) free_elems(e, got);
    got = column(f.update, 2, e, 16); /* outcomes */
    CHECK(got == 4);
    if (got == 4) {
        CHECK_STR_EQ(e[0], "published"); /* not the later-attempt retrying */
        CHECK_STR_EQ(e[1], "failed");
        CHECK_STR_EQ(e[2], "retrying");
        CHECK_STR_EQ(e[3], "published");
    }
    if (got > 0) free_elems(e, got);
    CHECK(f.update_src[0] == 2);
    CHECK(f.update_src[1] == 4);
    CHECK(f.update_src[2] == 5);
    CHECK(f.update_src[3] == 6);

    got = column(f.update, 1, e, 16); /* generations */
    if (got == 4) CHECK_STR_EQ(e[3], "2");
    if (got > 0) free_elems(e, got);
    got = column(f.update, 4, e, 16); /* external_post_id: empty -> NULL */
    if (got == 4) {
        CHECK_STR_EQ(e[0], "123_456");
        CHECK(e[1] == NULL);
    }
    if (got > 0) free_elems(e, got);
    got = column(f.update, 6, e, 16); /* error_class: NONE -> NULL */
    if (got == 4) {
        CHECK(e[0] == NULL);
        CHECK_STR_EQ(e[1], "permanent");
    }
    if (got > 0) free_elems(e, got);
    got = column(f.update, 8, e, 16);
    if (got == 4) CHECK_STR_EQ(e[1], "Invalid parameter, \"message\" {x}");
    if (got > 0) free_elems(e, got);
    got = column(f.update, 9, e, 16); /* finished_ms */
    if (got == 4) {
        CHECK_STR_EQ(e[0], "1700000000123");
        CHECK(e[1] == NULL);
    }
    if (got > 0) free_elems(e, got);

    /* History keeps every result, in stream order, with its own event. */
    got = column(f.history, 3, e, 16);
    CHECK(got == (int)n);
    if (got == (int)n) {
        CHECK_STR_EQ(e[0], "retrying");
        CHECK_STR_EQ(e[2], "published");
        CHECK_STR_EQ(e[3], "retrying");
        CHECK_STR_EQ(e[4], "failed");
    }
    if (got > 0) free_elems(e, got);
    for (int i = 0; i < AP_FOLD_HISTORY_NPARAMS; i++) {
        got = column(f.history, i, e, 16);
        CHECK(got == (int)n); /* every column has one element per result */
        if (got > 0) free_elems(e, got);
    }
    for (int i = 0; i < AP_FOLD_UPDATE_NPARAMS; i++) {
        got = column(f.update, i, e, 16);
        CHECK(got == 4);
        if (got > 0) free_elems(e, got);
    }

    ap_fold_free(&f);
    ap_fold_free(&f); /* idempotent */
    ap_fold_free(NULL);
    for (size_t i = 0; i < n; i++) free(rs[i]);
}

/* One post, one schedule, inside a batch: the first row (in id order) that
 * publishes a post of an account holds it; a later one with the same post
 * and account names it in batch_holder (column 11), and the SQL fails it.
 * Another account's post with the same id, another generation of the same
 * schedule and results without a post id hold nothing. */
#define SID_D "0b6f2f5e-0000-4000-8000-00000000000d"
#define ACCT_1 "11111111-1111-4111-8111-111111111111"
#define ACCT_2 "22222222-2222-4222-8222-222222222222"
static void test_fold_one_post_one_schedule(void) {
    ap_result *rs[] = {mk(SID_C, 1, PUB, 1), mk(SID_A, 1, PUB, 1), mk(SID_B, 1, PUB, 1),
                       mk(SID_D, 1, PUB, 1), mk(SID_A, 2, PUB, 1), mk(SID_D, 2, FAIL, 1)};
    size_t n = sizeof(rs) / sizeof(rs[0]);
    const char *accounts[] = {ACCT_1, ACCT_1, ACCT_1, ACCT_2, ACCT_1, ACCT_1};
    const char *posts[] = {"777", "777", "", "777", "777", "777"};
    for (size_t i = 0; i < n; i++) {
        rs[i]->account_id = (char *)accounts[i];
        rs[i]->external_post_id = (char *)posts[i];
    }
    ap_fold f;
    ap_fold_init(&f);
    CHECK(ap_fold_build(&f, rs, n) == AP_OK);
    CHECK(f.nupdates == n); /* A/1, A/2, B/1, C/1, D/1, D/2 */
    char *e[16];
    int got = column(f.update, 11, e, 16);
    CHECK(got == (int)n);
    if (got == (int)n) {
        CHECK(e[0] == NULL);       /* A/1 holds 777 of account 1 */
        CHECK(e[1] == NULL);       /* A/2: the same schedule */
        CHECK(e[2] == NULL);       /* B: no post id */
        CHECK_STR_EQ(e[3], SID_A); /* C: account 1's 777 again */
        CHECK(e[4] == NULL);       /* D/1: another account */
        CHECK(e[5] == NULL);       /* D/2: failed, claims nothing */
    }
    if (got > 0) free_elems(e, got);
    ap_fold_free(&f);
    for (size_t i = 0; i < n; i++) free(rs[i]);
}

static void test_fold_holders_by_post(void) {
    /* Two posts of one account interleaved: each row is compared with the
     * rows of its own post only, and every later claimant of a post names
     * the first schedule that published it. */
    ap_result *rs[] = {mk(SID_D, 1, PUB, 1), mk(SID_B, 1, PUB, 1), mk(SID_C, 1, PUB, 1),
                       mk(SID_A, 1, PUB, 1)};
    size_t n = sizeof(rs) / sizeof(rs[0]);
    const char *posts[] = {"p1", "p2", "p1", "p1"};
    for (size_t i = 0; i < n; i++) {
        rs[i]->account_id = ACCT_1;
        rs[i]->external_post_id = (char *)posts[i];
    }
    ap_fold f;
    ap_fold_init(&f);
    CHECK(ap_fold_build(&f, rs, n) == AP_OK);
    char *e[8];
    int got = column(f.update, 11, e, 8);
    CHECK(got == (int)n); /* rows in id order: A, B, C, D */
    if (got == (int)n) {
        CHECK(e[0] == NULL);       /* A: the first with p1 */
        CHECK(e[1] == NULL);       /* B: the only one with p2 */
        CHECK_STR_EQ(e[2], SID_A); /* C: p1 again */
        CHECK_STR_EQ(e[3], SID_A); /* D: p1 a third time, still A's */
    }
    if (got > 0) free_elems(e, got);
    ap_fold_free(&f);
    for (size_t i = 0; i < n; i++) free(rs[i]);
}

static void test_fold_tie_keeps_first(void) {
    /* Two equivalent results (a republish): the earlier one is the row. */
    ap_result *rs[] = {mk(SID_A, 1, FAIL, 2), mk(SID_A, 1, CANCEL, 2)};
    ap_fold f;
    ap_fold_init(&f);
    CHECK(ap_fold_build(&f, rs, 2) == AP_OK);
    CHECK(f.nupdates == 1);
    CHECK(f.update_src[0] == 0);
    ap_fold_free(&f);
    free(rs[0]), free(rs[1]);
}

static void test_fold_ranges_are_clamped(void) {
    /* Values that would make PostgreSQL reject the whole batch. */
    ap_result *r = mk(SID_A, 1, RETRY, UINT32_MAX);
    r->started_at_ms = -5;                /* before the epoch: nonsense */
    r->finished_at_ms = INT64_C(1) << 60; /* past year 9999 */
    r->http_status = 0;                   /* no HTTP response */
    r->publisher_instance = "pub-1";
    ap_fold f;
    ap_fold_init(&f);
    CHECK(ap_fold_build(&f, &r, 1) == AP_OK);
    char *e[2];
    int got = column(f.history, 2, e, 2);
    if (got == 1) CHECK_STR_EQ(e[0], "2147483647");
    if (got > 0) free_elems(e, got);
    got = column(f.history, 8, e, 2);
    if (got == 1) CHECK(e[0] == NULL);
    if (got > 0) free_elems(e, got);
    got = column(f.history, 9, e, 2);
    if (got == 1) CHECK_STR_EQ(e[0], "pub-1");
    if (got > 0) free_elems(e, got);
    got = column(f.history, 10, e, 2);
    if (got == 1) CHECK(e[0] == NULL);
    if (got > 0) free_elems(e, got);
    got = column(f.history, 11, e, 2);
    if (got == 1) CHECK(e[0] == NULL);
    if (got > 0) free_elems(e, got);
    ap_fold_free(&f);
    CHECK(ap_fold_build(&f, &r, 0) == AP_EINVAL);
    free(r);
}

/* A deferral ends its generation like a terminal outcome: it beats a
 * retrying of the same generation, published beats it. Its wait goes in the
 * retry column, which is NULL for every other outcome. */
static void test_fold_deferred(void) {
    ap_result *d2 = mk(SID_A, 1, DEFER, 2), *r3 = mk(SID_A, 1, RETRY, 3),
              *p1 = mk(SID_A, 1, PUB, 1);
    CHECK(ap_fold_precedence(d2, r3) > 0);
    CHECK(ap_fold_precedence(p1, d2) > 0);
    CHECK_STR_EQ(ap_outcome_name(DEFER), "deferred");

    /* A: retrying 1 then deferred 2 in one batch; B: a retrying that carries
     * the platform's hint (not a deferral); C: deferred then published (a
     * duplicate job that did post): published decides. */
    ap_result *rs[] = {mk(SID_A, 1, RETRY, 1), d2, mk(SID_B, 1, RETRY, 1), mk(SID_C, 4, DEFER, 1),
                       mk(SID_C, 4, PUB, 1)};
    size_t n = sizeof(rs) / sizeof(rs[0]);
    d2->retry_after_ms = 90000;
    d2->finished_at_ms = 1700000000000;
    d2->error_class = AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_QUOTA;
    d2->error_message = "publishing limit reached";
    rs[2]->retry_after_ms = 5000;
    rs[3]->retry_after_ms = 1000;
    ap_fold f;
    ap_fold_init(&f);
    CHECK(ap_fold_build(&f, rs, n) == AP_OK);
    CHECK(f.nupdates == 3);
    char *e[8];
    int k = column(f.update, 2, e, 8);
    CHECK(k == 3);
    if (k == 3) {
        CHECK_STR_EQ(e[0], "deferred");
        CHECK_STR_EQ(e[1], "retrying");
        CHECK_STR_EQ(e[2], "published");
        free_elems(e, k);
    }
    k = column(f.update, 10, e, 8);
    CHECK(k == 3);
    if (k == 3) {
        CHECK_STR_EQ(e[0], "90000");
        CHECK(e[1] == NULL && e[2] == NULL);
        free_elems(e, k);
    }
    k = column(f.update, 3, e, 8); /* the deferral's attempt, for the history */
    if (k == 3) {
        CHECK_STR_EQ(e[0], "2");
        free_elems(e, k);
    }
    /* Every result is a history line: the deferral's event is "deferred". */
    k = column(f.history, 3, e, 8);
    CHECK(k == 5);
    if (k == 5) {
        CHECK_STR_EQ(e[1], "deferred");
        CHECK_STR_EQ(e[3], "deferred");
        free_elems(e, k);
    }
    ap_fold_free(&f);
    /* The statement itself: back to pending under the next generation,
     * attempts kept, only from an open row of the same generation. */
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE),
                   "WHEN r.outcome = 'deferred' THEN 'pending'");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE),
                   "s.generation + CASE WHEN r.outcome = 'deferred' THEN 1");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE),
                   "WHEN r.outcome = 'deferred' THEN s.attempts");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE),
                   "ELSE s.status IN ('pending', 'queued', 'retrying') END");
    for (size_t i = 0; i < n; i++) free(rs[i]);
    free(r3), free(p1);
}

static void test_account_fold_pauses(void) {
    const char *acct1 = "11111111-1111-4111-8111-111111111111";
    ap_result *rs[] = {mk(SID_A, 1, DEFER, 1), mk(SID_B, 1, DEFER, 1), mk(SID_C, 1, DEFER, 1),
                       mk(SID_C, 2, DEFER, 1), mk(SID_C, 3, RETRY, 1)};
    for (size_t i = 0; i < 5; i++) {
        rs[i]->account_id = (char *)acct1;
        rs[i]->platform = "x";
        rs[i]->finished_at_ms = 1000;
        rs[i]->retry_after_ms = 500;
    }
    rs[0]->pause_scope = AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_ACCOUNT;
    rs[1]->pause_scope = AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_APP;
    rs[1]->retry_after_ms = 9000;
    /* rs[2]: deferred by a pause already recorded: no scope, nothing to do. */
    rs[3]->pause_scope = AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_ACCOUNT;
    rs[3]->retry_after_ms = 0; /* no wait: no pause */
    ap_account_fold f;
    ap_account_fold_init(&f);
    CHECK(ap_account_fold_build(&f, rs, 5) == AP_OK);
    CHECK(f.npauses == 2);
    char *e[4];
    int k = column(f.pauses, 0, e, 4);
    CHECK(k == 2);
    if (k == 2) {
        CHECK_STR_EQ(e[0], acct1);
        CHECK(e[1] == NULL); /* the app: every account of the platform */
        free_elems(e, k);
    }
    k = column(f.pauses, 1, e, 4);
    if (k == 2) {
        CHECK_STR_EQ(e[1], "x");
        free_elems(e, k);
    }
    k = column(f.pauses, 2, e, 4);
    CHECK(k == 2);
    if (k == 2) {
        CHECK_STR_EQ(e[0], "1500");
        CHECK_STR_EQ(e[1], "10000");
        free_elems(e, k);
    }
    ap_account_fold_free(&f);
    char want[8];
    snprintf(want, sizeof(want), "$%d:", AP_ACCOUNT_PAUSE_NPARAMS);
    CHECK_CONTAINS(store_sql_flat(AP_STORE_ACCOUNT_PAUSE), want);
    /* Only ever later. */
    CHECK_CONTAINS(store_sql_flat(AP_STORE_ACCOUNT_PAUSE), "a.paused_until < p.until");
    for (size_t i = 0; i < 5; i++) free(rs[i]);
}

/* The platform's own count (Instagram/Threads quota_usage) goes to the
 * account from any outcome; results without one, or without a usable
 * account or time, add nothing. */
static void test_account_fold_platform_usage(void) {
    const char *acct1 = "11111111-1111-4111-8111-111111111111";
    ap_result *rs[] = {mk(SID_A, 1, DEFER, 1), mk(SID_B, 1, RETRY, 1), mk(SID_C, 1, DEFER, 1),
                       mk(SID_C, 2, RETRY, 1)};
    for (size_t i = 0; i < 4; i++) {
        rs[i]->account_id = (char *)acct1;
        rs[i]->platform = "instagram";
    }
    rs[0]->platform_usage = 50;
    rs[0]->platform_usage_at_ms = 1700000000000;
    rs[1]->platform_usage = 7;
    rs[1]->platform_usage_at_ms = 1700000000123;
    rs[2]->platform_usage = 9; /* never asked: nothing */
    rs[3]->platform_usage = 4;
    rs[3]->platform_usage_at_ms = 1700000000000;
    rs[3]->account_id = "not-a-uuid";
    ap_account_fold f;
    ap_account_fold_init(&f);
    CHECK(ap_account_fold_build(&f, rs, 4) == AP_OK);
    CHECK(f.nusage == 2);
    char *e[4];
    int k = column(f.usage, 1, e, 4);
    CHECK(k == 2);
    if (k == 2) {
        CHECK_STR_EQ(e[0], "50");
        CHECK_STR_EQ(e[1], "7");
        free_elems(e, k);
    }
    k = column(f.usage, 2, e, 4);
    CHECK(k == 2);
    if (k == 2) {
        CHECK_STR_EQ(e[1], "1700000000123");
        free_elems(e, k);
    }
    ap_account_fold_free(&f);
    char want[8];
    snprintf(want, sizeof(want), "$%d:", AP_ACCOUNT_USAGE_NPARAMS);
    CHECK_CONTAINS(store_sql_flat(AP_STORE_ACCOUNT_USAGE), want);
    /* Only ever a newer observation: a late result cannot roll it back. */
    CHECK_CONTAINS(store_sql_flat(AP_STORE_ACCOUNT_USAGE), "a.platform_usage_at < p.at");
    for (size_t i = 0; i < 4; i++) free(rs[i]);
}

static void test_sql_parameter_counts(void) {
    /* The statements and the arrays must agree on how many parameters. */
    char want[8];
    snprintf(want, sizeof(want), "$%d:", AP_FOLD_HISTORY_NPARAMS);
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_HISTORY), want);
    snprintf(want, sizeof(want), "$%d:", AP_FOLD_HISTORY_NPARAMS + 1);
    CHECK(strstr(store_sql_flat(AP_STORE_FOLD_HISTORY), want) == NULL);
    snprintf(want, sizeof(want), "$%d:", AP_FOLD_UPDATE_NPARAMS);
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE), want);
    snprintf(want, sizeof(want), "$%d:", AP_FOLD_UPDATE_NPARAMS + 1);
    CHECK(strstr(store_sql_flat(AP_STORE_FOLD_UPDATE), want) == NULL);
    /* ... and the store runs them with as many as the fold builds. */
    CHECK(ap_store_nparams(AP_STORE_FOLD_HISTORY) == AP_FOLD_HISTORY_NPARAMS);
    CHECK(ap_store_nparams(AP_STORE_FOLD_UPDATE) == AP_FOLD_UPDATE_NPARAMS);
    CHECK(ap_store_nparams(AP_STORE_ACCOUNT_CREDENTIALS) == AP_ACCOUNT_CRED_NPARAMS);
    CHECK(ap_store_nparams(AP_STORE_ACCOUNT_REAUTH) == AP_ACCOUNT_REAUTH_NPARAMS);
    CHECK(ap_store_nparams(AP_STORE_ACCOUNT_PAUSE) == AP_ACCOUNT_PAUSE_NPARAMS);
    CHECK(ap_store_nparams(AP_STORE_ACCOUNT_USAGE) == AP_ACCOUNT_USAGE_NPARAMS);
}

/* ---- account effects ------------------------------------------------------ */

static void test_account_fold(void) {
    /* Two refreshes of account 1 (the newer wins), one of account 2, a reauth
     * failure of account 3 twice (one mark), a reauth retry (no mark), and a
     * refresh without an issued_at (ignored). */
    static const uint8_t old_blob[] = {0xA1}, new_blob[] = {0xB2, 0x0F}, other[] = {0xC3};
    ap_result *rs[] = {mk(SID_A, 1, PUB, 1),  mk(SID_B, 1, PUB, 1),  mk(SID_C, 1, PUB, 1),
                       mk(SID_A, 1, FAIL, 2), mk(SID_B, 1, FAIL, 1), mk(SID_C, 1, RETRY, 1),
                       mk(SID_C, 1, PUB, 2)};
    const char *acct1 = "11111111-1111-1111-1111-111111111111",
               *acct2 = "22222222-2222-2222-2222-222222222222",
               *acct3 = "33333333-3333-3333-3333-333333333333";
    rs[0]->account_id = (char *)acct1;
    rs[0]->refreshed_credential = (ProtobufCBinaryData){sizeof(old_blob), (uint8_t *)old_blob};
    rs[0]->credential_issued_at_ms = 100;
    rs[1]->account_id = (char *)acct1;
    rs[1]->refreshed_credential = (ProtobufCBinaryData){sizeof(new_blob), (uint8_t *)new_blob};
    rs[1]->credential_issued_at_ms = 200;
    rs[2]->account_id = (char *)acct2;
    rs[2]->refreshed_credential = (ProtobufCBinaryData){sizeof(other), (uint8_t *)other};
    rs[2]->credential_issued_at_ms = 50;
    for (int i = 3; i <= 5; i++) {
        rs[i]->account_id = (char *)acct3;
        rs[i]->error_class = AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_REAUTH;
        rs[i]->credential_issued_at_ms = 7;
    }
    rs[3]->error_message = "Session has expired \xff";
    rs[4]->error_code = "credential"; /* not openable: not the account's fault... */
    rs[4]->account_id = "44444444-4444-4444-4444-444444444444";
    rs[6]->account_id = (char *)acct2;
    rs[6]->refreshed_credential = (ProtobufCBinaryData){sizeof(other), (uint8_t *)other};

    ap_account_fold f;
    ap_account_fold_init(&f);
    CHECK(ap_account_fold_build(&f, rs, sizeof(rs) / sizeof(rs[0])) == AP_OK);
    CHECK(f.ncredentials == 2);
    char *e[4];
    int n = column(f.credentials, 0, e, 4);
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR_EQ(e[0], acct1);
        CHECK_STR_EQ(e[1], acct2);
        free_elems(e, n);
    }
    n = column(f.credentials, 1, e, 4);
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR_EQ(e[0], "b20f"); /* the newer of account 1 */
        CHECK_STR_EQ(e[1], "c3");
        free_elems(e, n);
    }
    n = column(f.credentials, 2, e, 4);
    if (n == 2) {
        CHECK_STR_EQ(e[0], "200");
        free_elems(e, n);
    }
    CHECK(f.nreauth == 1);
    if (f.nreauth == 1) {
        CHECK_STR_EQ(f.reauth[0].account_id, acct3);
        CHECK_STR_EQ(f.reauth[0].issued_at, "7");
        CHECK_STR_EQ(f.reauth[0].reason, "Session has expired ?");
        CHECK_CONTAINS(f.reauth[0].message, "set-credential");
        CHECK_CONTAINS(f.reauth[0].message, "Session has expired");
    }
    ap_account_fold_free(&f);
    ap_account_fold_free(NULL);

    /* Nothing about accounts in a batch: no statements. */
    ap_result *plain[] = {mk(SID_A, 1, PUB, 1)};
    CHECK(ap_account_fold_build(&f, plain, 1) == AP_OK);
    CHECK(f.ncredentials == 0 && f.nreauth == 0 && f.credentials[0] == NULL);
    ap_account_fold_free(&f);
    free(plain[0]);
    for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) free(rs[i]);

    char want[8];
    snprintf(want, sizeof(want), "$%d:", AP_ACCOUNT_CRED_NPARAMS);
    CHECK_CONTAINS(store_sql_flat(AP_STORE_ACCOUNT_CREDENTIALS), want);
    snprintf(want, sizeof(want), "$%d:", AP_ACCOUNT_REAUTH_NPARAMS);
    CHECK_CONTAINS(store_sql_flat(AP_STORE_ACCOUNT_REAUTH), want);
}

/* ---- advisories ----------------------------------------------------------- */

static void test_advisory_parse(void) {
    const char *ok =
        "{\"type\":\"io.nats.jetstream.advisory.v1.max_deliver\","
        "\"id\":\"x\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"stream\":\"AUTOPOST_JOBS\","
        "\"consumer\":\"publisher-facebook\",\"stream_seq\":123,\"deliveries\":20}";
    ap_advisory adv;
    char err[256];
    CHECK(ap_advisory_parse(ok, strlen(ok), &adv, err, sizeof(err)) == AP_OK);
    CHECK_STR_EQ(adv.stream, "AUTOPOST_JOBS");
    CHECK_STR_EQ(adv.consumer, "publisher-facebook");
    CHECK(adv.stream_seq == 123);
    CHECK(adv.deliveries == 20);

    const char *bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"type\":\"io.nats.jetstream.advisory.v1.terminated\",\"stream\":\"S\","
        "\"stream_seq\":1}",
        "{\"type\":\"io.nats.jetstream.advisory.v1.max_deliver\",\"stream\":\"S\"}",
        "{\"type\":\"io.nats.jetstream.advisory.v1.max_deliver\",\"stream\":\"S\","
        "\"stream_seq\":0}",
        "{\"type\":\"io.nats.jetstream.advisory.v1.max_deliver\",\"stream\":\"S\","
        "\"stream_seq\":\"12\"}",
        "{\"type\":\"io.nats.jetstream.advisory.v1.max_deliver\",\"stream_seq\":12}",
        "{\"type\":\"io.nats.jetstream.advisory.v1.max_deliver\",\"stream\":5,\"stream_seq\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(ap_advisory_parse(bad[i], strlen(bad[i]), &adv, err, sizeof(err)) == AP_EINVAL);
        CHECK(err[0] != '\0');
    }

    char msg[256];
    ap_advisory_message(msg, sizeof(msg), 20);
    CHECK_STR_EQ(msg, "gave up after 20 deliveries without a result "
                      "(publisher crashed or timed out each time)");
}

/* ---- terminal transitions ------------------------------------------------- */

static void test_terminal_status(void) {
    CHECK(ap_terminal_status_of("published") == AP_TERMINAL_PUBLISHED);
    CHECK(ap_terminal_status_of("failed") == AP_TERMINAL_FAILED);
    CHECK(ap_terminal_status_of("unconfirmed") == AP_TERMINAL_UNCONFIRMED);
    CHECK(ap_terminal_status_of("cancelled") == AP_TERMINAL_CANCELLED);
    /* Open statuses (a retrying or deferred result moves a row but ends
     * nothing) and junk are not terminal. */
    const char *open_or_junk[] = {"pending", "queued",    "retrying", "deferred",
                                  "",        "Published", "failed ",  NULL};
    for (size_t i = 0; i < sizeof(open_or_junk) / sizeof(open_or_junk[0]); i++)
        CHECK(ap_terminal_status_of(open_or_junk[i]) == -1);
    for (int st = 0; st < AP_TERMINAL_NSTATUS; st++)
        CHECK(ap_terminal_status_of(ap_terminal_status_name(st)) == st);
    CHECK_STR_EQ(ap_terminal_cause_name(AP_CAUSE_RESULT), "result");
    CHECK_STR_EQ(ap_terminal_cause_name(AP_CAUSE_REAUTH_CASCADE), "reauth_cascade");
    CHECK_STR_EQ(ap_terminal_cause_name(AP_CAUSE_MAX_DELIVERIES), "max_deliveries");
    CHECK_STR_EQ(ap_terminal_cause_name(AP_CAUSE_N), "unknown");
    CHECK_STR_EQ(ap_terminal_status_name(AP_TERMINAL_NSTATUS), "unknown");
    /* The counts come from the statements' own answers: the UPDATE returns
     * what it wrote, the cascade how many schedules it failed. */
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE), "RETURNING r.idx, s.status)");
    /* One post, one schedule: a held post fails the row as a duplicate. */
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE),
                   "CASE WHEN holder IS NULL THEN outcome ELSE 'failed' END");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE),
                   "AND o.id <> b.id AND o.status = 'published'");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_FOLD_UPDATE), "s.generation, u.status FROM");
    const char *tail = "SELECT count(*) FROM s";
    size_t n = strlen(store_sql_flat(AP_STORE_ACCOUNT_REAUTH)), k = strlen(tail);
    CHECK(n > k && strcmp(store_sql_flat(AP_STORE_ACCOUNT_REAUTH) + n - k, tail) == 0);
}

/* Issue 17: the subject names the platform; a result applies only to a
 * schedule of that platform's account, naming no other account. */
static void test_owner_check(void) {
    char buf[64];
    CHECK_STR_EQ(ap_owner_subject_platform("autopost.results.x", buf, sizeof(buf)), "x");
    CHECK(ap_owner_subject_platform("autopost.results.", buf, sizeof(buf)) == NULL);
    CHECK(ap_owner_subject_platform("autopost.results.x.y", buf, sizeof(buf)) == NULL);
    CHECK(ap_owner_subject_platform("autopost.jobs.x", buf, sizeof(buf)) == NULL);
    CHECK(ap_owner_subject_platform("autopost.results.facebook", buf, 8) == NULL);
    CHECK(ap_owner_subject_platform(NULL, buf, sizeof(buf)) == NULL);

    const char *acct = "11111111-1111-4111-8111-111111111111";
    ap_result *r = mk(SID_A, 1, PUB, 1);
    CHECK(ap_owner_check(r, NULL, acct, "x") == AP_OWNER_NO_PLATFORM);
    /* No platform or account named: judged by the schedule alone. */
    CHECK(ap_owner_check(r, "x", acct, "x") == AP_OWNER_OK);
    CHECK(ap_owner_check(r, "x", acct, "facebook") == AP_OWNER_PLATFORM);
    CHECK(ap_owner_check(r, "x", NULL, NULL) == AP_OWNER_OK);
    r->platform = "facebook";
    CHECK(ap_owner_check(r, "x", acct, "x") == AP_OWNER_PLATFORM);
    CHECK(ap_owner_check(r, "facebook", acct, "facebook") == AP_OWNER_OK);
    r->account_id = "11111111-1111-4111-8111-111111111112";
    CHECK(ap_owner_check(r, "facebook", acct, "facebook") == AP_OWNER_ACCOUNT);
    r->account_id = "11111111-1111-4111-8111-111111111111";
    CHECK(ap_owner_check(r, "facebook", acct, "facebook") == AP_OWNER_OK);
    /* An unknown schedule cannot vouch for the account it names. */
    CHECK(ap_owner_check(r, "facebook", NULL, NULL) == AP_OWNER_UNKNOWN_SCHEDULE);
    CHECK_STR_EQ(ap_owner_verdict_name(AP_OWNER_ACCOUNT), "account");
    CHECK_STR_EQ(ap_owner_verdict_name(AP_OWNER_N), "unknown");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_OWNER_LOOKUP),
                   "JOIN social_accounts a ON a.id = s.account_id");
    free(r);
}

int main(void) {
    RUN(test_array_empty_and_ints);
    RUN(test_array_text_escaping);
    RUN(test_array_invalid_utf8_replaced);
    RUN(test_array_long_text);
    RUN(test_precedence);
    RUN(test_fold_collapses_per_schedule);
    RUN(test_fold_tie_keeps_first);
    RUN(test_fold_one_post_one_schedule);
    RUN(test_fold_holders_by_post);
    RUN(test_fold_ranges_are_clamped);
    RUN(test_sql_parameter_counts);
    RUN(test_advisory_parse);
    RUN(test_account_fold);
    RUN(test_fold_deferred);
    RUN(test_account_fold_pauses);
    RUN(test_terminal_status);
    RUN(test_account_fold_platform_usage);
    RUN(test_owner_check);
    return TEST_RESULT();
}
