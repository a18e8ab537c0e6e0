/* api_load.c -- bench/run.sh api: how many posts per second autopost-api
 * creates through POST /v1/posts, as an application would send them: a key
 * per tenant, a JSON body the adapters validate, an Idempotency-Key on every
 * request.
 *
 *   autopost-bench-api-load API_URL RUN POSTS CONCURRENCY AT KEY=ACCOUNT[,ACCOUNT...]...
 *
 * Request i goes to tenant i % tenants with the body {"account_ids": [that
 * tenant's accounts], "text": "bench post RUN i", "at": AT} and the key
 * "bench-RUN-i". CONCURRENCY requests are in flight at once on one thread
 * (libcurl multi); each slot keeps its easy handle, so its kept-alive
 * connection carries the next request (a curl process per post would
 * measure fork and connect, not the API). Run it twice with the same RUN
 * and the second run's requests are all replays of stored answers.
 *
 * Prints "name value" lines: posts, ok (answered 201), failed (any other
 * answer or a transport error; the first one's code and body go to
 * stderr), seconds, per_s, p50_ms, p99_ms, max_ms (per request, from
 * handing it to libcurl to the end of the answer). Exit 0 when every
 * request was answered 201. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TENANTS 1024 /* the apiseed profile: a tenant per seed user */
#define BODY_MAX 4096
#define ERR_BODY_MAX 512

typedef struct {
    char auth[160];
    char accounts[2048]; /* "\"id\",\"id\"" ready for the body */
} tenant;

typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char body[BODY_MAX];
    char reply[ERR_BODY_MAX];
    size_t reply_len;
    long index;
    double started;
} slot;

typedef struct {
    long ok, failed;
    double seconds;
    double *latency_ms; /* one per request */
} pass_result;

static tenant tenants[MAX_TENANTS];
static int ntenants;
static const char *api_url, *run, *at;
static long posts;
static int first_failure_reported;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps the start of an answer for the first failure's report. */
static size_t on_reply(char *data, size_t size, size_t n, void *userp) {
    slot *s = userp;
    size_t len = size * n, room = sizeof(s->reply) - 1 - s->reply_len;
    size_t take = len < room ? len : room;
    memcpy(s->reply + s->reply_len, data, take);
    s->reply_len += take;
    s->reply[s->reply_len] = '\0';
    return len;
}

static int parse_tenant(const char *arg, tenant *t) {
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) return -1;
    int n = snprintf(t->auth, sizeof(t->auth), "Authorization: Bearer %.*s", (int)(eq - arg), arg);
    if (n < 0 || (size_t)n >= sizeof(t->auth)) return -1;
    size_t len = 0;
    const char *p = eq + 1;
    while (*p) {
        size_t id_len = strcspn(p, ",");
        n = snprintf(t->accounts + len, sizeof(t->accounts) - len, "%s\"%.*s\"", len ? "," : "",
                     (int)id_len, p);
        if (n < 0 || (size_t)n >= sizeof(t->accounts) - len || id_len == 0) return -1;
        len += (size_t)n;
        p += id_len + (p[id_len] == ',');
    }
    return len > 0 ? 0 : -1;
}

/* Sets slot s up for request i (same body and key in both passes). */
static int slot_prepare(slot *s, long i) {
    const tenant *t = &tenants[i % ntenants];
    char key[96];
    int k = snprintf(key, sizeof(key), "Idempotency-Key: bench-%s-%ld", run, i);
    int b = snprintf(s->body, sizeof(s->body),
                     "{\"account_ids\": [%s], \"text\": \"bench post %s %ld\", \"at\": \"%s\"}",
                     t->accounts, run, i, at);
    if (k < 0 || (size_t)k >= sizeof(key) || b < 0 || (size_t)b >= sizeof(s->body)) return -1;
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    const char *lines[] = {t->auth, key, "Content-Type: application/json", "Expect:"};
    for (size_t j = 0; j < sizeof(lines) / sizeof(lines[0]); j++) {
        struct curl_slist *next = curl_slist_append(s->headers, lines[j]);
        if (next == NULL) return -1;
        s->headers = next;
    }
    s->index = i;
    s->reply_len = 0;
    s->reply[0] = '\0';
    if (curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)b) != CURLE_OK)
        return -1;
    s->started = now_s();
    return 0;
}

static int slot_init(slot *s) {
    char url[1024];
    int n = snprintf(url, sizeof(url), "%s/v1/posts", api_url);
    if (n < 0 || (size_t)n >= sizeof(url) || (s->easy = curl_easy_init()) == NULL) return -1;
    if (curl_easy_setopt(s->easy, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_reply) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 30000L) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK)
        return -1;
    return 0;
}

static void record(pass_result *r, slot *s, CURLcode code) {
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    r->latency_ms[s->index] = (now_s() - s->started) * 1000.0;
    if (code == CURLE_OK && status == 201) {
        r->ok++;
        return;
    }
    r->failed++;
    if (!first_failure_reported) {
        first_failure_reported = 1;
        fprintf(stderr, "api_load: request %ld: %s, HTTP %ld: %s\n", s->index,
                curl_easy_strerror(code), status, s->reply);
    }
}

/* One pass over every request, CONCURRENCY in flight. */
static int run_pass(CURLM *multi, slot *slots, int conc, pass_result *r) {
    long next = 0;
    int running = 0, active = 0;
    double t0 = now_s();
    for (int i = 0; i < conc && next < posts; i++, next++) {
        if (slot_prepare(&slots[i], next) != 0 || curl_multi_add_handle(multi, slots[i].easy) != CURLM_OK)
            return -1;
        active++;
    }
    while (active > 0) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) return -1;
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE) continue;
            slot *s = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode code = m->data.result;
            curl_multi_remove_handle(multi, s->easy);
            active--;
            record(r, s, code);
            if (next < posts) {
                if (slot_prepare(s, next++) != 0 || curl_multi_add_handle(multi, s->easy) != CURLM_OK)
                    return -1;
                active++;
            }
        }
        if (active > 0 && curl_multi_poll(multi, NULL, 0, 100, NULL) != CURLM_OK) return -1;
    }
    r->seconds = now_s() - t0;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *sorted, long n, double p) {
    long i = (long)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void report(const pass_result *r) {
    qsort(r->latency_ms, (size_t)posts, sizeof(double), cmp_double);
    printf("posts %ld\nok %ld\nfailed %ld\nseconds %.3f\nper_s %.0f\np50_ms %.1f\np99_ms %.1f\n"
           "max_ms %.1f\n",
           posts, r->ok, r->failed, r->seconds, (double)posts / r->seconds,
           percentile(r->latency_ms, posts, 0.50), percentile(r->latency_ms, posts, 0.99),
           r->latency_ms[posts - 1]);
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: autopost-bench-api-load API_URL RUN POSTS CONCURRENCY AT "
                        "KEY=ACCOUNT[,ACCOUNT...]...\n");
        return 2;
    }
    api_url = argv[1];
    run = argv[2];
    posts = strtol(argv[3], NULL, 10);
    int conc = (int)strtol(argv[4], NULL, 10);
    at = argv[5];
    ntenants = argc - 6;
    if (posts <= 0 || conc <= 0 || conc > 1024 || ntenants > MAX_TENANTS || strlen(run) > 32) {
        fprintf(stderr, "api_load: POSTS > 0, 0 < CONCURRENCY <= 1024, at most %d tenants, RUN <= 32\n",
                MAX_TENANTS);
        return 2;
    }
    for (int i = 0; i < ntenants; i++)
        if (parse_tenant(argv[6 + i], &tenants[i]) != 0) {
            fprintf(stderr, "api_load: '%s' is not KEY=ACCOUNT[,ACCOUNT...]\n", argv[6 + i]);
            return 2;
        }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    CURLM *multi = curl_multi_init();
    slot *slots = calloc((size_t)conc, sizeof(*slots));
    pass_result result = {0};
    result.latency_ms = calloc((size_t)posts, sizeof(double));
    int rc = 1;
    if (multi == NULL || slots == NULL || result.latency_ms == NULL ||
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)conc) != CURLM_OK)
        goto cleanup;
    for (int i = 0; i < conc; i++)
        if (slot_init(&slots[i]) != 0) goto cleanup;
    if (run_pass(multi, slots, conc, &result) != 0) {
        fprintf(stderr, "api_load: libcurl multi failed\n");
        goto cleanup;
    }
    report(&result);
    rc = result.failed == 0 ? 0 : 1;
cleanup:
    for (int i = 0; slots && i < conc; i++) {
        curl_easy_cleanup(slots[i].easy);
        curl_slist_free_all(slots[i].headers);
    }
    free(slots);
    free(result.latency_ms);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return fflush(stdout) == 0 ? rc : 1;
}
