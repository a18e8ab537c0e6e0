/* webhook_receiver.c -- a webhook endpoint for the e2e tests that answers
 * by plan and records everything it was sent (tests/e2e/test_webhooks.sh).
 *
 *   webhook_receiver PORT_FILE DIR PLAN
 *
 * Listens on 127.0.0.1 (a free port, written to PORT_FILE). PLAN is a comma
 * list of answers, applied per event (Autopost-Event-Id header): the k-th
 * request for an event gets the k-th entry, the last entry repeats. An
 * entry is an HTTP status ("500", "200") or "hang:MS" (wait MS milliseconds
 * before answering 500: a client with a shorter timeout sees no answer).
 * Every request is recorded as DIR/<n>.body (the raw bytes) and DIR/<n>.meta
 * (answer=, event_id=, signature=, content_type=, traceparent=, path= lines), written
 * before the answer is sent, so a test that sees answer=200 in a .meta knows
 * the sender got (or will get) a 2xx. One thread per connection, so a hang
 * holds no other request up. Runs until SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ap_buf.h"

#define MAX_PLAN 32
#define MAX_EVENTS 4096

static const char *dir;
static char *plan[MAX_PLAN];
static int nplan;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long seq;
static struct {
    char id[64];
    int seen;
} events[MAX_EVENTS];
static int nevents;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/* The plan entry for this request, and its number (under the lock). */
static const char *next_answer(const char *event_id, long *n) {
    pthread_mutex_lock(&lock);
    *n = ++seq;
    int k = 0, i;
    for (i = 0; i < nevents; i++)
        if (strcmp(events[i].id, event_id) == 0) break;
    if (i == nevents && nevents < MAX_EVENTS) {
        snprintf(events[nevents].id, sizeof(events[nevents].id), "%s", event_id);
        nevents++;
    }
    if (i < nevents) k = events[i].seen++;
    pthread_mutex_unlock(&lock);
    return plan[k < nplan ? k : nplan - 1];
}

static int write_file(long n, const char *ext, const char *data, size_t len) {
    char path[4096], tmp[4200];
    int a = snprintf(path, sizeof(path), "%s/%ld.%s", dir, n, ext);
    int b = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (a < 0 || (size_t)a >= sizeof(path) || b < 0 || (size_t)b >= sizeof(tmp)) return -1;
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) return -1;
    size_t w = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || w != len) return -1;
    return rename(tmp, path); /* a reader never sees half a file */
}

static const char *header(struct MHD_Connection *c, const char *name) {
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? v : "";
}

static enum MHD_Result answer(struct MHD_Connection *c, const char *url, ap_buf *body) {
    const char *event_id = header(c, "Autopost-Event-Id");
    long n = 0;
    const char *entry = next_answer(event_id, &n);
    unsigned status = 500;
    long hang_ms = 0;
    if (strncmp(entry, "hang:", 5) == 0)
        hang_ms = strtol(entry + 5, NULL, 10);
    else
        status = (unsigned)strtoul(entry, NULL, 10);
    char meta[2048];
    int m = snprintf(meta, sizeof(meta),
                     "answer=%s\nevent_id=%s\nsignature=%s\ncontent_type=%s\ntraceparent=%s\n"
                     "path=%s\n",
                     entry, event_id, header(c, "Autopost-Signature"), header(c, "Content-Type"),
                     header(c, "traceparent"), url);
    if (m < 0 || (size_t)m >= sizeof(meta) ||
        write_file(n, "body", body->data ? body->data : "", body->len) != 0 ||
        write_file(n, "meta", meta, (size_t)m) != 0)
        fprintf(stderr, "webhook_receiver: cannot record request %ld\n", n);
    if (hang_ms > 0) usleep((useconds_t)hang_ms * 1000);
    struct MHD_Response *r = MHD_create_response_from_buffer(2, "ok", MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state) {
    (void)cls, (void)method, (void)version;
    ap_buf *body = *state;
    if (body == NULL) {
        if ((body = calloc(1, sizeof(*body))) == NULL) return MHD_NO;
        *state = body;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!ap_buf_append(body, upload_data, *upload_size)) return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(c, url, body);
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode code) {
    (void)cls, (void)c, (void)code;
    ap_buf *body = *state;
    if (body) {
        ap_buf_free(body);
        free(body);
    }
    *state = NULL;
}

static int parse_plan(char *text) {
    for (char *save = NULL, *p = strtok_r(text, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (nplan == MAX_PLAN) return -1;
        plan[nplan++] = p;
    }
    return nplan > 0 ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 4 || parse_plan(argv[3]) != 0) {
        fprintf(stderr, "usage: webhook_receiver PORT_FILE DIR PLAN (e.g. 500,hang:3000,200)\n");
        return 2;
    }
    dir = argv[2];
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "webhook_receiver: cannot listen\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char port[16];
    int n = snprintf(port, sizeof(port), "%u\n", info ? info->port : 0);
    char tmp[4096];
    int t = snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
    FILE *f = t > 0 && (size_t)t < sizeof(tmp) ? fopen(tmp, "w") : NULL;
    if (info == NULL || info->port == 0 || f == NULL ||
        fwrite(port, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0 || rename(tmp, argv[1]) != 0) {
        fprintf(stderr, "webhook_receiver: cannot write the port file\n");
        MHD_stop_daemon(d);
        return 1;
    }
    while (!stop) pause();
    MHD_stop_daemon(d);
    return 0;
}
