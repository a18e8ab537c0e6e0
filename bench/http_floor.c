/* http_floor.c -- what the platform call alone costs its client, per job.
 *
 * The publishing call of a Facebook text post, done as cheaply as a client
 * can: POST {base}/v19.0/{page}/feed with the message as a form field and
 * the token in the Authorization header, on kept-alive connections,
 * CONCURRENCY calls in flight on one thread (libcurl multi, each slot
 * keeping its easy handle), the answer's JSON parsed for its "id" (jansson).
 * No NATS, no PostgreSQL, no protobuf, no logging: with js_floor's figures it
 * is the floor of the publisher's own CPU (bench/README.md, "floor").
 *
 *   http_floor <sandbox base url> <calls> <concurrency>
 *
 * Prints "name value" lines: calls, ok, calls_per_s, client_ms_per_call (this
 * process's user + system CPU per call). Exit 0 when every call was answered
 * 200 with an id. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_time.h"

#define REPLY_MAX 1024

typedef struct {
    CURL *easy;
    char url[256];
    char body[128];
    char reply[REPLY_MAX];
    size_t reply_len;
} slot;

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
    slot *s = arg;
    size_t len = size * n;
    if (s->reply_len + len >= REPLY_MAX) return 0; /* larger than any answer: fail */
    memcpy(s->reply + s->reply_len, data, len);
    s->reply_len += len;
    return len;
}

/* Call number i on slot s: a page per call, as a burst over many accounts. */
static int start_call(CURLM *multi, slot *s, struct curl_slist *headers, const char *base, long i) {
    int n = snprintf(s->url, sizeof(s->url), "%s/v19.0/%ld/feed", base, 100000 + i % 2000);
    int m = snprintf(s->body, sizeof(s->body), "message=floor%%20post%%20%ld", i);
    if (n < 0 || (size_t)n >= sizeof(s->url) || m < 0 || (size_t)m >= sizeof(s->body)) return -1;
    s->reply_len = 0;
    if (curl_easy_setopt(s->easy, CURLOPT_URL, s->url) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK)
        return -1;
    return curl_multi_add_handle(multi, s->easy) == CURLM_OK ? 0 : -1;
}

/* The answer is {"id": "..."} with 200, as the adapter reads it. */
static int answer_ok(slot *s, CURLcode res) {
    long code = 0;
    if (res != CURLE_OK) return 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) return 0;
    json_t *doc = json_loadb(s->reply, s->reply_len, 0, NULL);
    int ok = doc != NULL && json_is_string(json_object_get(doc, "id"));
    json_decref(doc);
    return ok;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: http_floor <sandbox base url> <calls> <concurrency>\n");
        return 2;
    }
    const char *base = argv[1];
    long calls = strtol(argv[2], NULL, 10);
    int conc = (int)strtol(argv[3], NULL, 10);
    if (calls <= 0 || conc <= 0 || conc > 4096) {
        fprintf(stderr,
                "http_floor: calls and concurrency must be positive (concurrency <= 4096)\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    CURLM *multi = curl_multi_init();
    slot *slots = calloc((size_t)conc, sizeof(*slots));
    struct curl_slist *headers = curl_slist_append(NULL, "Authorization: Bearer floor-token");
    if (multi == NULL || slots == NULL || headers == NULL) return 1;
    for (int i = 0; i < conc; i++)
        if ((slots[i].easy = curl_easy_init()) == NULL) return 1;

    double cpu0 = bench_self_cpu_s(), t0 = bench_mono_s();
    long next = 0, done = 0, ok = 0;
    for (int i = 0; i < conc && next < calls; i++)
        if (start_call(multi, &slots[i], headers, base, next++) != 0) return 1;
    while (done < calls) {
        int running = 0, left = 0;
        if (curl_multi_perform(multi, &running) != CURLM_OK) return 1;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) continue;
            slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(multi, s->easy);
            if (answer_ok(s, res))
                ok++;
            else if (done - ok == 0)
                fprintf(stderr, "http_floor: first failure: %s, %.*s\n", curl_easy_strerror(res),
                        (int)s->reply_len, s->reply);
            done++;
            if (next < calls && start_call(multi, s, headers, base, next++) != 0) return 1;
        }
        if (done < calls && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) return 1;
    }
    double secs = bench_mono_s() - t0, cpu = bench_self_cpu_s() - cpu0;
    printf("calls %ld\nok %ld\ncalls_per_s %.0f\nclient_ms_per_call %.4f\n", calls, ok,
           calls / secs, cpu * 1000.0 / calls);

    for (int i = 0; i < conc; i++) curl_easy_cleanup(slots[i].easy);
    curl_slist_free_all(headers);
    free(slots);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return ok == calls ? 0 : 1;
}
