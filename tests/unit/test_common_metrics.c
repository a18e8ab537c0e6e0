/* test_common_metrics.c -- the metrics registry, its text exposition (0.0.4)
 * and the health probes' answers, without any network. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "ap_config.h"
#include "ap_health.h"
#include "ap_metrics.h"
#include "test.h"

/* Renders reg; the caller frees. */
static char *render(ap_metrics *reg) {
    char *text = NULL;
    size_t len = 0;
    CHECK(ap_metrics_render(reg, &text, &len) == AP_OK);
    CHECK(text != NULL && strlen(text) == len);
    return text;
}

static void test_counter_and_gauge_text(void) {
    ap_metrics *reg = ap_metrics_new();
    CHECK(reg != NULL);
    ap_counter *c = ap_metrics_counter(reg, "autopost_things_total", "Things done.", NULL);
    ap_gauge *g = ap_metrics_gauge(reg, "autopost_level", "A level.", NULL);
    CHECK(c != NULL && g != NULL);
    ap_counter_inc(c);
    ap_counter_add(c, 41);
    ap_gauge_set(g, 1.5);
    ap_gauge_add(g, -4);
    CHECK(ap_counter_value(c) == 42);
    CHECK(ap_gauge_value(g) == -2.5);
    char *text = render(reg);
    CHECK_STR_EQ(text, "# HELP autopost_things_total Things done.\n"
                       "# TYPE autopost_things_total counter\n"
                       "autopost_things_total 42\n"
                       "# HELP autopost_level A level.\n"
                       "# TYPE autopost_level gauge\n"
                       "autopost_level -2.5\n");
    free(text);
    ap_metrics_free(reg);
}

static void test_label_escaping(void) {
    ap_metrics *reg = ap_metrics_new();
    const char *const labels[] = {"path", "C:\\dir \"x\"\nnext", "platform", "facebook", NULL};
    ap_counter *c =
        ap_metrics_counter(reg, "autopost_escaped_total", "Help with \\ and\nnewline", labels);
    CHECK(c != NULL);
    ap_counter_inc(c);
    char *text = render(reg);
    CHECK_STR_EQ(text, "# HELP autopost_escaped_total Help with \\\\ and\\nnewline\n"
                       "# TYPE autopost_escaped_total counter\n"
                       "autopost_escaped_total{path=\"C:\\\\dir \\\"x\\\"\\nnext\","
                       "platform=\"facebook\"} 1\n");
    free(text);
    ap_metrics_free(reg);
}

static void test_histogram_buckets(void) {
    ap_metrics *reg = ap_metrics_new();
    const double bounds[] = {0.1, 1, 10};
    const char *const labels[] = {"platform", "facebook", NULL};
    ap_histogram *h =
        ap_metrics_histogram(reg, "autopost_call_seconds", "Call latency.", labels, bounds, 3);
    CHECK(h != NULL);
    ap_histogram_observe(h, 0.05);
    ap_histogram_observe(h, 0.1); /* a bound is inclusive: le="0.1" */
    ap_histogram_observe(h, 0.5);
    ap_histogram_observe(h, 20); /* only in +Inf */
    char *text = render(reg);
    CHECK_STR_EQ(text, "# HELP autopost_call_seconds Call latency.\n"
                       "# TYPE autopost_call_seconds histogram\n"
                       "autopost_call_seconds_bucket{platform=\"facebook\",le=\"0.1\"} 2\n"
                       "autopost_call_seconds_bucket{platform=\"facebook\",le=\"1\"} 3\n"
                       "autopost_call_seconds_bucket{platform=\"facebook\",le=\"10\"} 3\n"
                       "autopost_call_seconds_bucket{platform=\"facebook\",le=\"+Inf\"} 4\n"
                       "autopost_call_seconds_sum{platform=\"facebook\"} 20.65\n"
                       "autopost_call_seconds_count{platform=\"facebook\"} 4\n");
    free(text);
    ap_metrics_free(reg);
}

static void test_histogram_without_labels(void) {
    ap_metrics *reg = ap_metrics_new();
    ap_histogram *h = ap_metrics_histogram(reg, "autopost_tick_seconds", NULL, NULL,
                                           ap_metrics_latency_buckets, ap_metrics_latency_nbuckets);
    CHECK(h != NULL);
    char *text = render(reg);
    /* No HELP line without help; an empty histogram still lists its buckets. */
    CHECK(strncmp(text, "# TYPE autopost_tick_seconds histogram\n", 39) == 0);
    CHECK_CONTAINS(text, "autopost_tick_seconds_bucket{le=\"0.005\"} 0\n");
    CHECK_CONTAINS(text, "autopost_tick_seconds_bucket{le=\"2.5\"} 0\n");
    CHECK_CONTAINS(text, "autopost_tick_seconds_bucket{le=\"+Inf\"} 0\n");
    CHECK_CONTAINS(text, "autopost_tick_seconds_sum 0\nautopost_tick_seconds_count 0\n");
    free(text);
    ap_metrics_free(reg);
}

static void test_series_of_one_family(void) {
    ap_metrics *reg = ap_metrics_new();
    const char *const pub[] = {"outcome", "published", NULL};
    const char *const fail[] = {"outcome", "failed", NULL};
    ap_counter *a = ap_metrics_counter(reg, "autopost_outcomes_total", "Outcomes.", pub);
    ap_counter *b = ap_metrics_counter(reg, "autopost_outcomes_total", "Outcomes.", fail);
    ap_counter *again = ap_metrics_counter(reg, "autopost_outcomes_total", "Outcomes.", pub);
    CHECK(a != NULL && b != NULL && a != b);
    CHECK(again == a); /* registering twice finds the same series */
    ap_counter_add(a, 3);
    ap_counter_inc(b);
    char *text = render(reg);
    CHECK_STR_EQ(text, "# HELP autopost_outcomes_total Outcomes.\n"
                       "# TYPE autopost_outcomes_total counter\n"
                       "autopost_outcomes_total{outcome=\"published\"} 3\n"
                       "autopost_outcomes_total{outcome=\"failed\"} 1\n");
    free(text);
    ap_metrics_free(reg);
}

static void test_invalid_registrations(void) {
    ap_metrics *reg = ap_metrics_new();
    const double bounds[] = {1, 2};
    const double unsorted[] = {2, 1};
    const double inf[] = {1, INFINITY};
    const char *const one[] = {"a", "x", NULL};
    const char *const other[] = {"b", "x", NULL};
    const char *const le[] = {"le", "x", NULL};
    const char *const reserved[] = {"__name", "x", NULL};
    const char *const dup[] = {"a", "x", "a", "y", NULL};
    const char *const no_value[] = {"a", NULL};
    const char *const five[] = {"a", "1", "b", "2", "c", "3", "d", "4", "e", "5", NULL};
    CHECK(ap_metrics_counter(NULL, "autopost_x_total", NULL, NULL) == NULL);
    CHECK(ap_metrics_counter(reg, "1starts_with_digit", NULL, NULL) == NULL);
    CHECK(ap_metrics_counter(reg, "has-dash", NULL, NULL) == NULL);
    CHECK(ap_metrics_counter(reg, "", NULL, NULL) == NULL);
    CHECK(ap_metrics_counter(reg, "autopost_x_total", NULL, reserved) == NULL);
    CHECK(ap_metrics_counter(reg, "autopost_x_total", NULL, dup) == NULL);
    CHECK(ap_metrics_counter(reg, "autopost_x_total", NULL, no_value) == NULL);
    CHECK(ap_metrics_counter(reg, "autopost_x_total", NULL, five) == NULL);
    CHECK(ap_metrics_histogram(reg, "autopost_h", NULL, le, bounds, 2) == NULL);
    CHECK(ap_metrics_histogram(reg, "autopost_h", NULL, NULL, unsorted, 2) == NULL);
    CHECK(ap_metrics_histogram(reg, "autopost_h", NULL, NULL, inf, 2) == NULL);
    /* One name, one shape: type, label names and bounds must match. */
    CHECK(ap_metrics_counter(reg, "autopost_x_total", NULL, one) != NULL);
    CHECK(ap_metrics_gauge(reg, "autopost_x_total", NULL, one) == NULL);
    CHECK(ap_metrics_counter(reg, "autopost_x_total", NULL, other) == NULL);
    CHECK(ap_metrics_counter(reg, "autopost_x_total", NULL, NULL) == NULL);
    CHECK(ap_metrics_histogram(reg, "autopost_h", NULL, NULL, bounds, 2) != NULL);
    CHECK(ap_metrics_histogram(reg, "autopost_h", NULL, NULL, bounds, 1) == NULL);
    /* Colons are allowed in metric names (recording rules), not in labels. */
    CHECK(ap_metrics_gauge(reg, "autopost:ratio", NULL, NULL) != NULL);
    const char *const colon[] = {"a:b", "x", NULL};
    CHECK(ap_metrics_gauge(reg, "autopost_y", NULL, colon) == NULL);
    ap_metrics_free(reg);
}

static void test_null_and_wrong_kind_are_noops(void) {
    ap_counter_inc(NULL);
    ap_counter_add(NULL, 5);
    ap_gauge_set(NULL, 1);
    ap_gauge_add(NULL, 1);
    ap_histogram_observe(NULL, 1);
    CHECK(ap_counter_value(NULL) == 0);
    CHECK(ap_gauge_value(NULL) == 0);
    ap_metrics_free(NULL);

    ap_metrics *reg = ap_metrics_new();
    ap_counter *c = ap_metrics_counter(reg, "autopost_c_total", NULL, NULL);
    ap_gauge_set(c, 7); /* a counter is never set */
    ap_histogram_observe(c, 7);
    CHECK(ap_counter_value(c) == 0);
    ap_metrics_free(reg);

    char *text = NULL;
    CHECK(ap_metrics_render(NULL, &text, NULL) == AP_OK);
    CHECK_STR_EQ(text, "");
    free(text);
}

static void test_gauge_special_values(void) {
    ap_metrics *reg = ap_metrics_new();
    const char *const l1[] = {"k", "tiny", NULL};
    const char *const l2[] = {"k", "big", NULL};
    const char *const l3[] = {"k", "inf", NULL};
    const char *const l4[] = {"k", "ninf", NULL};
    const char *const l5[] = {"k", "nan", NULL};
    const char *const l6[] = {"k", "third", NULL};
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l1), 1e-9);
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l2), 12345678901234.0);
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l3), INFINITY);
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l4), -INFINITY);
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l5), NAN);
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l6), 1.0 / 3.0);
    const char *const l7[] = {"k", "e5", NULL};
    const char *const l8[] = {"k", "e6", NULL};
    const char *const l9[] = {"k", "e-4", NULL};
    const char *const l10[] = {"k", "neg", NULL};
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l7), 800000 / 10);
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l8), 1e6);
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l9), 0.0001);
    ap_gauge_set(ap_metrics_gauge(reg, "autopost_g", NULL, l10), -0.25);
    char *text = render(reg);
    CHECK_CONTAINS(text, "autopost_g{k=\"tiny\"} 1e-09\n");
    CHECK_CONTAINS(text, "autopost_g{k=\"big\"} 1.2345678901234e+13\n");
    CHECK_CONTAINS(text, "autopost_g{k=\"inf\"} +Inf\n");
    CHECK_CONTAINS(text, "autopost_g{k=\"ninf\"} -Inf\n");
    CHECK_CONTAINS(text, "autopost_g{k=\"nan\"} NaN\n");
    /* Shortest text that reads back as the same double, as Go writes it. */
    CHECK_CONTAINS(text, "autopost_g{k=\"third\"} 0.3333333333333333\n");
    CHECK_CONTAINS(text, "autopost_g{k=\"e5\"} 80000\n");
    CHECK_CONTAINS(text, "autopost_g{k=\"e6\"} 1e+06\n");
    CHECK_CONTAINS(text, "autopost_g{k=\"e-4\"} 0.0001\n");
    CHECK_CONTAINS(text, "autopost_g{k=\"neg\"} -0.25\n");
    free(text);
    ap_metrics_free(reg);
}

/* ---- concurrency ------------------------------------------------------------ */

enum { THREADS = 4, ROUNDS = 20000 };

typedef struct shared {
    ap_counter *c;
    ap_gauge *g;
    ap_histogram *h;
} shared;

static void *hammer(void *arg) {
    shared *s = arg;
    for (int i = 0; i < ROUNDS; i++) {
        ap_counter_inc(s->c);
        ap_gauge_add(s->g, 1);
        ap_histogram_observe(s->h, (i % 2) ? 0.5 : 2);
    }
    return NULL;
}

static void test_concurrent_updates(void) {
    ap_metrics *reg = ap_metrics_new();
    const double bounds[] = {1};
    shared s = {
        .c = ap_metrics_counter(reg, "autopost_n_total", NULL, NULL),
        .g = ap_metrics_gauge(reg, "autopost_n", NULL, NULL),
        .h = ap_metrics_histogram(reg, "autopost_n_seconds", NULL, NULL, bounds, 1),
    };
    pthread_t t[THREADS];
    int started = 0;
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, hammer, &s) == 0) started++;
    CHECK(started == THREADS);
    /* Scrapes while the writers run must not trip the sanitizers. */
    for (int i = 0; i < 20; i++) free(render(reg));
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    CHECK(ap_counter_value(s.c) == (uint64_t)THREADS * ROUNDS);
    CHECK(ap_gauge_value(s.g) == (double)THREADS * ROUNDS);
    char *text = render(reg);
    char want[256];
    snprintf(want, sizeof(want),
             "autopost_n_seconds_bucket{le=\"1\"} %d\n"
             "autopost_n_seconds_bucket{le=\"+Inf\"} %d\n"
             "autopost_n_seconds_sum %d\n"
             "autopost_n_seconds_count %d\n",
             THREADS * ROUNDS / 2, THREADS * ROUNDS, THREADS * ROUNDS / 2 * 5 / 2,
             THREADS * ROUNDS);
    CHECK_CONTAINS(text, want);
    free(text);
    ap_metrics_free(reg);
}

/* ---- health probes ----------------------------------------------------------- */

static void test_health_probes(void) {
    ap_config cfg;
    ap_config_init(&cfg);
    cfg.http_port = 0; /* state only, no listener */
    char err[256], body[512];
    CHECK(ap_health_metrics() == NULL);
    ap_health_set(AP_CHECK_NATS, true); /* before start: harmless */
    CHECK(ap_health_start(&cfg, "unit", AP_CHECK_NATS | AP_CHECK_TOPOLOGY | AP_CHECK_POSTGRES, err,
                          sizeof(err)) == AP_OK);
    CHECK(ap_health_metrics() != NULL);

    /* Before the first beat the service is starting: alive, not ready. */
    CHECK(ap_health_liveness(body, sizeof(body)) == 200);
    CHECK_STR_EQ(body, "ok\n");
    CHECK(ap_health_readiness(body, sizeof(body)) == 503);
    CHECK_CONTAINS(body, "nats: not connected\n");
    CHECK_CONTAINS(body, "topology: ");
    CHECK_CONTAINS(body, "postgres: not connected\n");

    ap_health_beat();
    CHECK(ap_health_liveness(body, sizeof(body)) == 200);
    ap_health_set(AP_CHECK_NATS, true);
    ap_health_set(AP_CHECK_TOPOLOGY, true);
    CHECK(ap_health_readiness(body, sizeof(body)) == 503);
    CHECK_STR_EQ(body, "postgres: not connected\n");
    ap_health_set(AP_CHECK_POSTGRES, true);
    CHECK(ap_health_readiness(body, sizeof(body)) == 200);
    CHECK_STR_EQ(body, "ok\n");
    ap_health_set(AP_CHECK_NATS, false);
    CHECK(ap_health_readiness(body, sizeof(body)) == 503);
    CHECK_STR_EQ(body, "nats: not connected\n");

    char *text = render(ap_health_metrics());
    CHECK_CONTAINS(text, "autopost_build_info{service=\"unit\",version=\"");
    CHECK_CONTAINS(text, "autopost_nats_connected 0\n");
    free(text);

    /* Lag gauges exist from registration; refreshing without NATS does nothing. */
    ap_lag_gauges lag;
    ap_lag_gauges_init(&lag, "AUTOPOST_JOBS", "publisher-facebook");
    ap_lag_gauges_refresh(&lag, NULL, NULL);
    text = render(ap_health_metrics());
    CHECK_CONTAINS(text, "autopost_consumer_pending{stream=\"AUTOPOST_JOBS\","
                         "consumer=\"publisher-facebook\"} 0\n");
    CHECK_CONTAINS(text, "autopost_consumer_ack_pending{stream=\"AUTOPOST_JOBS\","
                         "consumer=\"publisher-facebook\"} 0\n");
    free(text);

    ap_health_stop();
    CHECK(ap_health_metrics() == NULL);
    ap_health_stop(); /* twice is fine */
    ap_config_free(&cfg);
}

int main(void) {
    RUN(test_counter_and_gauge_text);
    RUN(test_label_escaping);
    RUN(test_histogram_buckets);
    RUN(test_histogram_without_labels);
    RUN(test_series_of_one_family);
    RUN(test_invalid_registrations);
    RUN(test_null_and_wrong_kind_are_noops);
    RUN(test_gauge_special_values);
    RUN(test_concurrent_updates);
    RUN(test_health_probes);
    return TEST_RESULT();
}
