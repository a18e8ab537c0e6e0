/* test_store.c -- the store's statement table (store/ap_store.h): every op
 * has its embedded text, runs with exactly as many parameters as its text
 * uses (PostgreSQL refuses one more or one fewer), and the statements two
 * callers share keep the shape both read. Running them is the e2e tests'
 * work. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ap_store.h"
#include "ap_store_prepared.h"
#include "store_sql.h"
#include "test.h"

/* The highest $n the statement's text uses (comments dropped), or -1. */
static int highest_parameter(const char *flat) {
    int highest = 0;
    for (const char *p = strchr(flat, '$'); p; p = strchr(p + 1, '$')) {
        if (!isdigit((unsigned char)p[1])) continue;
        int n = atoi(p + 1);
        if (n > highest) highest = n;
    }
    return flat ? highest : -1;
}

static void test_every_op_has_its_statement(void) {
    for (int op = 0; op < AP_STORE_NOPS; op++) {
        const char *flat = store_sql_flat((ap_store_op)op);
        CHECK(flat != NULL && *flat != '\0');
        CHECK(ap_store_op_name((ap_store_op)op) != NULL);
        if (flat == NULL) continue;
        if (highest_parameter(flat) != ap_store_nparams((ap_store_op)op)) {
            fprintf(stderr, "%s: text uses $%d, run with %d parameters\n",
                    ap_store_op_name((ap_store_op)op), highest_parameter(flat),
                    ap_store_nparams((ap_store_op)op));
            test_failures++;
        }
        /* A plain query answers rows: the runner must expect them. */
        if (strncmp(flat, "SELECT", 6) == 0) CHECK(ap_store_returns_rows((ap_store_op)op));
    }
}

static void test_unknown_op(void) {
    char err[64] = "", sqlstate[6] = "x";
    PGresult *res = (PGresult *)1;
    CHECK(ap_store_sql(AP_STORE_NOPS) == NULL);
    CHECK(ap_store_nparams((ap_store_op)-1) == 0);
    CHECK(ap_store_run(NULL, AP_STORE_NOPS, NULL, &res, sqlstate, err, sizeof(err)) == AP_EINVAL);
    CHECK(res == NULL);
    CHECK_STR_EQ(sqlstate, "");
    CHECK_CONTAINS(err, "unknown statement");
}

/* `autopostctl failed` and the console read one answer: its columns, in the
 * order of AP_STORE_FAILED_COL_*, named as the console's JSON keys. */
static void test_failed_shape(void) {
    const char *flat = store_sql_flat(AP_STORE_FAILED);
    CHECK(strncmp(flat,
                  "SELECT a.platform, s.status, s.error_class, s.error_code, s.error_message, "
                  "count(*) AS count, ",
                  94) == 0);
    const char *latest = strstr(flat, " AS latest,");
    const char *examples = strstr(flat, " AS example_ids FROM");
    CHECK(latest != NULL && examples != NULL && latest < examples);
    CHECK(AP_STORE_FAILED_COL_EXAMPLE_IDS == 7 && AP_STORE_FAILED_COL_LATEST == 6);
    /* Both callers' filters: platform, status, limit. */
    CHECK_CONTAINS(flat, "($1::text IS NULL OR a.platform = $1)");
    CHECK_CONTAINS(flat, "($2::text IS NULL OR s.status = $2)");
    CHECK_CONTAINS(flat, "LIMIT $3::bigint");
}

/* A hand move repeats its allowed states in the UPDATE, as the guard
 * against a row that moved after it was read. */
static void test_hand_moves_guard_their_states(void) {
    CHECK_CONTAINS(store_sql_flat(AP_STORE_RETRY),
                   "p.status IN ('failed', 'unconfirmed', 'cancelled')");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_RETRY), "'retry_requested'");
    /* A thread that went out in part is never sent again from its post. */
    CHECK_CONTAINS(store_sql_flat(AP_STORE_RETRY), "AND p.part_external_ids IS NULL");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_CANCEL), "status = ANY ($2::text[])");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_CANCEL), "'cancelled by operator'");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_RETRY_CANDIDATES), "FOR UPDATE OF s SKIP LOCKED");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_MARK_QUEUED), "AND status = 'pending'");
    CHECK_CONTAINS(store_sql_flat(AP_STORE_MARK_INVALID), "AND status = 'pending'");
}

/* The prepared-statement registry: a name is stable until the connection
 * gets another backend or its entry is taken over, and a name is never
 * handed out again for a connection that may still hold it. Connections
 * that never connected are real PGconn objects with backend pid 0. */
static void test_prepared_registry(void) {
    PGconn *a = PQconnectStart("host=/nonexistent-autopost-test port=1");
    PGconn *b = PQconnectStart("host=/nonexistent-autopost-test port=1");
    CHECK(a != NULL && b != NULL);
    if (a == NULL || b == NULL) return;
    char first[64], again[64], other[64];
    CHECK(ap_store_prepared_lookup(a, AP_STORE_CANCEL, "cancel", first, sizeof(first)) == 0);
    CHECK(strncmp(first, "ap_", 3) == 0);
    CHECK_CONTAINS(first, "_cancel");
    ap_store_prepared_mark(a, AP_STORE_CANCEL, true);
    CHECK(ap_store_prepared_lookup(a, AP_STORE_CANCEL, "cancel", again, sizeof(again)) == 1);
    CHECK_STR_EQ(again, first);
    /* Another op on the same connection is not prepared yet. */
    CHECK(ap_store_prepared_lookup(a, AP_STORE_RETRY, "retry", again, sizeof(again)) == 0);
    /* Another connection has names of its own. */
    CHECK(ap_store_prepared_lookup(b, AP_STORE_CANCEL, "cancel", other, sizeof(other)) == 0);
    CHECK(strcmp(other, first) != 0);
    /* The backend said it does not know the name: prepare again. */
    ap_store_prepared_mark(a, AP_STORE_CANCEL, false);
    CHECK(ap_store_prepared_lookup(a, AP_STORE_CANCEL, "cancel", again, sizeof(again)) == 0);
    ap_store_prepared_mark(a, AP_STORE_CANCEL, true);
    /* More connections than the table holds: a's entry is taken over, and
     * when a comes back its statements get new names, never the old one. */
    PGconn *many[80];
    for (int i = 0; i < 80; i++) {
        many[i] = PQconnectStart("host=/nonexistent-autopost-test port=1");
        CHECK(many[i] != NULL);
        if (many[i])
            ap_store_prepared_lookup(many[i], AP_STORE_CANCEL, "cancel", other, sizeof(other));
    }
    CHECK(ap_store_prepared_lookup(a, AP_STORE_CANCEL, "cancel", again, sizeof(again)) == 0);
    CHECK(strcmp(again, first) != 0);
    /* A name PostgreSQL would truncate is refused: run unprepared. */
    char longname[80];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(ap_store_prepared_lookup(a, AP_STORE_CANCEL, longname, other, sizeof(other)) == -1);
    CHECK(ap_store_prepared_lookup(a, AP_STORE_NOPS, "x", other, sizeof(other)) == -1);
    for (int i = 0; i < 80; i++) PQfinish(many[i]);
    PQfinish(a);
    PQfinish(b);
}

int main(void) {
    RUN(test_every_op_has_its_statement);
    RUN(test_unknown_op);
    RUN(test_failed_shape);
    RUN(test_hand_moves_guard_their_states);
    RUN(test_prepared_registry);
    return TEST_RESULT();
}
