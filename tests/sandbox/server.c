/* server.c -- the platform sandbox's core server: HTTP plumbing, the
 * timer thread that resumes delayed and abandoned connections, and start
 * and stop. The pieces it drives live beside it (core.h lists them).
 *
 * Design
 * ------
 * One libmicrohttpd daemon with a single internal polling thread (poll();
 * sandbox_daemon_start says why not epoll) serves every connection. Requests are never handed to a
 * thread of their own: when an answer must be delayed the connection is
 * suspended (MHD_ALLOW_SUSPEND_RESUME) and its request goes into a min-heap
 * ordered by due time (heap.c). A second thread, the timer, sleeps in
 * epoll_wait() until the earliest due time, then resumes the due
 * connections; MHD calls the access handler again and only then is the
 * answer produced (and a post recorded). Thousands of delayed requests
 * therefore cost one heap slot and one idle socket each.
 *
 * Hung requests ("accepted but never answered") are suspended too, but a
 * suspended connection is invisible to MHD, which would never notice the
 * client giving up. So the timer's epoll set also watches each held socket
 * for EPOLLRDHUP: when the client closes, the connection is resumed and the
 * handler drops it. At shutdown every delayed or held connection is resumed
 * before MHD_stop_daemon(), as MHD requires.
 *
 * Locking: one mutex (server.lock) guards the heap, the held list, knobs,
 * RNG, counters and the post store. Lock order is server.lock before MHD's
 * internal mutexes (MHD_suspend_connection is called with it held); the
 * timer therefore never calls MHD_resume_connection with the lock held.
 *
 * Requests are routed by URL prefix: /_sandbox/ to the admin API (admin.c), the
 * rest through sandbox_routes[] to a platform imitation (see server.h).
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <netdb.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "core.h"

struct sandbox_server server;

/* ------------------------------------------------------------------------
 * Route table: every platform of common/platforms.list has tests/sandbox/<name>.c
 * defining sandbox_<name>; the helpers below are not platforms. The longest
 * matching prefix wins, so the order here does not matter: OAuth token
 * endpoints (oauth.c) beat their platforms' prefixes, and Facebook's "/"
 * only catches what nothing else claims.
 * --------------------------------------------------------------------- */

#define AP_PLATFORM(name, base_url, version, cap, cap_hours, reports) \
    extern const sandbox_platform sandbox_##name;
#include "ap_platform_list.h"
#undef AP_PLATFORM
extern const sandbox_platform sandbox_media;
extern const sandbox_platform sandbox_x_oauth;
extern const sandbox_platform sandbox_linkedin_oauth;

static const sandbox_platform *const sandbox_routes[] = {
#define AP_PLATFORM(name, base_url, version, cap, cap_hours, reports) &sandbox_##name,
#include "ap_platform_list.h"
#undef AP_PLATFORM
    &sandbox_media,
    &sandbox_x_oauth,
    &sandbox_linkedin_oauth,
};

/* MHD logs every MHD_NO from the access handler as an "internal error";
 * ours are deliberate (a hung client left, a drop at the hang cap or at
 * shutdown), so that line would only be noise, thousands of times. */
__attribute__((format(printf, 2, 0))) static void sandbox_mhd_log(void *cls, const char *fmt,
                                                                  va_list ap) {
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (strncmp(msg, "Application reported internal error", 35) == 0) return;
    fprintf(stderr, "autopost-sandbox: libmicrohttpd: %s", msg);
}

static const sandbox_platform *sandbox_route(const char *path) {
    const sandbox_platform *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof(sandbox_routes) / sizeof(sandbox_routes[0]); i++) {
        size_t n = strlen(sandbox_routes[i]->prefix);
        if (strncmp(path, sandbox_routes[i]->prefix, n) == 0 && (best == NULL || n > best_len)) {
            best = sandbox_routes[i];
            best_len = n;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------
 * Timer thread: resumes due and abandoned connections.
 * --------------------------------------------------------------------- */

static void sandbox_timer_wake(void) {
    uint64_t one = 1;
    if (write(server.wakefd, &one, sizeof(one)) != (ssize_t)sizeof(one) &&
        errno != EAGAIN) /* EAGAIN: counter saturated, a wake is pending */
        sandbox_log("cannot wake timer: %s", strerror(errno));
}

static void sandbox_held_unlink_locked(sandbox_request *req) {
    if (req->held_prev)
        req->held_prev->held_next = req->held_next;
    else
        server.held_head = req->held_next;
    if (req->held_next) req->held_next->held_prev = req->held_prev;
    req->held_prev = req->held_next = NULL;
    req->held = 0;
    server.held_count--;
    sandbox_in_flight_add_locked(-1);
    if (epoll_ctl(server.epfd, EPOLL_CTL_DEL, req->fd, NULL) != 0)
        sandbox_log("epoll_ctl(DEL, %d): %s", req->fd, strerror(errno));
}

/* Moves up to max requests that must be resumed into out: due ones, or
 * with all set (shutdown) every delayed and held one. */
static size_t sandbox_timer_take_locked(sandbox_request **out, size_t max, int all) {
    size_t n = 0;
    int64_t now = sandbox_mono_ms();
    while (n < max && server.heap.len > 0 &&
           (all || sandbox_heap_top(&server.heap)->due_ms <= now)) {
        out[n++] = sandbox_heap_pop(&server.heap);
        sandbox_in_flight_add_locked(-1);
    }
    while (all && n < max && server.held_head != NULL) {
        out[n] = server.held_head;
        sandbox_held_unlink_locked(out[n++]);
    }
    return n;
}

static void sandbox_timer_resume(int all) {
    sandbox_request *batch[SANDBOX_BATCH];
    size_t n;
    do {
        pthread_mutex_lock(&server.lock);
        n = sandbox_timer_take_locked(batch, SANDBOX_BATCH, all);
        pthread_mutex_unlock(&server.lock);
        for (size_t i = 0; i < n; i++) MHD_resume_connection(batch[i]->conn);
    } while (n == SANDBOX_BATCH);
}

/* A held socket reported hang-up: the client gave up waiting. */
static void sandbox_timer_closed(sandbox_request *req) {
    int resume = 0;
    pthread_mutex_lock(&server.lock);
    if (req->held) {
        sandbox_held_unlink_locked(req);
        resume = 1;
    }
    pthread_mutex_unlock(&server.lock);
    if (resume) MHD_resume_connection(req->conn);
}

static void sandbox_timer_drain_wake(void) {
    uint64_t v;
    if (read(server.wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        sandbox_log("cannot read wake eventfd: %s", strerror(errno));
}

static void *sandbox_timer_main(void *arg) {
    struct epoll_event ev[64];
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&server.lock);
        int stop = server.stopping;
        int timeout = sandbox_heap_timeout_ms(&server.heap, sandbox_mono_ms());
        pthread_mutex_unlock(&server.lock);
        if (stop) break;
        int n = epoll_wait(server.epfd, ev, 64, timeout);
        if (n < 0 && errno != EINTR) {
            sandbox_log("epoll_wait: %s", strerror(errno));
            n = 0;
            usleep(10000); /* do not spin if it keeps failing */
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL)
                sandbox_timer_drain_wake();
            else
                sandbox_timer_closed(ev[i].data.ptr);
        }
        sandbox_timer_resume(0);
    }
    sandbox_timer_resume(1); /* MHD must not be stopped with suspended connections */
    return NULL;
}

/* ------------------------------------------------------------------------
 * Request lifecycle: delay, answer, hold
 * --------------------------------------------------------------------- */

static int sandbox_stopping(void) {
    pthread_mutex_lock(&server.lock);
    int s = server.stopping;
    pthread_mutex_unlock(&server.lock);
    return s;
}

/* Draws the fault and the delay for a platform request, in arrival order,
 * from the seeded RNG: the same seed and request sequence give the same
 * faults. One draw picks at most one fault; rates are stacked in order. */
static int64_t sandbox_req_draw_locked(sandbox_request *req) {
    const sandbox_knobs *k = &server.knobs;
    double u = sandbox_rng_unit(&server.rng);
    double j = sandbox_rng_unit(&server.rng);
    server.stats.requests++;
    if (u < k->error_rate_5xx)
        req->fault = SANDBOX_FAULT_5XX;
    else if (u < k->error_rate_5xx + k->throttle_rate)
        req->fault = SANDBOX_FAULT_THROTTLE;
    else if (u < k->error_rate_5xx + k->throttle_rate + k->hang_rate)
        req->fault = SANDBOX_FAULT_HANG;
    else if (u < k->error_rate_5xx + k->throttle_rate + k->hang_rate + k->close_rate)
        req->fault = SANDBOX_FAULT_CLOSE;
    else if (u <
             k->error_rate_5xx + k->throttle_rate + k->hang_rate + k->close_rate + k->resend_rate)
        req->fault = SANDBOX_FAULT_RESEND;
    return k->latency_ms + (int64_t)(j * (double)(k->latency_jitter_ms + 1));
}

static enum MHD_Result sandbox_req_hold(sandbox_request *req) {
    if (req->fault == SANDBOX_FAULT_CLOSE) {
        /* The platform committed; MHD_NO closes the connection without a
         * byte of answer, as a crash after commit or a proxy would. On a
         * kept-alive connection this is what makes a client library resend. */
        pthread_mutex_lock(&server.lock);
        server.stats.closes++;
        pthread_mutex_unlock(&server.lock);
        return MHD_NO;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = req};
    int held = 0;
    pthread_mutex_lock(&server.lock);
    server.stats.hangs++;
    /* Register first: the timer cannot see the event before we unlock, and
     * by then the connection is suspended and linked. */
    if (ci != NULL && !server.stopping && server.held_count < server.knobs.max_held) {
        if (epoll_ctl(server.epfd, EPOLL_CTL_ADD, ci->connect_fd, &ev) == 0) {
            MHD_suspend_connection(req->conn);
            req->fd = ci->connect_fd;
            req->held = 1;
            req->held_next = server.held_head;
            if (server.held_head) server.held_head->held_prev = req;
            server.held_head = req;
            server.held_count++;
            sandbox_in_flight_add_locked(1);
            req->state = SANDBOX_ST_HELD;
            held = 1;
        } else {
            sandbox_log("epoll_ctl(ADD): %s", strerror(errno));
        }
    }
    if (!held) server.stats.hang_drops++; /* closed unanswered instead */
    pthread_mutex_unlock(&server.lock);
    return held ? MHD_YES : MHD_NO;
}

/* Forgets the answer handle() produced, for a second run of handle(). */
static void sandbox_reply_forget(sandbox_request *req) {
    free(req->resp);
    req->resp = NULL;
    req->resp_len = 0;
    for (int i = 0; i < req->nhdr; i++) {
        free(req->hdr_name[i]);
        free(req->hdr_value[i]);
    }
    req->nhdr = 0;
    req->status = 0;
}

static enum MHD_Result sandbox_req_answer(sandbox_request *req) {
    /* At shutdown resumed requests are dropped unanswered: nothing new is
     * recorded once the server has been told to stop. */
    if (req->state == SANDBOX_ST_DELAYED && sandbox_stopping()) return MHD_NO;
    req->state = SANDBOX_ST_ANSWERED;
    req->platform->handle(req);
    if (req->fault == SANDBOX_FAULT_RESEND && req->committed && !req->hold) {
        /* A proxy that lost the first answer sends the identical request
         * again: the platform processes it as any other request (its
         * duplicate rule answers) and only that answer reaches the client.
         * Once: a proxy retries a request, not its own retry. */
        sandbox_reply_forget(req);
        pthread_mutex_lock(&server.lock);
        server.stats.resends++;
        pthread_mutex_unlock(&server.lock);
        req->platform->handle(req);
    }
    if (req->hold) return sandbox_req_hold(req);
    return sandbox_req_send(req);
}

static enum MHD_Result sandbox_req_delay(sandbox_request *req, int64_t delay_ms) {
    int queued = 0, wake = 0;
    pthread_mutex_lock(&server.lock);
    if (!server.stopping && sandbox_heap_reserve(&server.heap) == 0) {
        req->due_ms = sandbox_mono_ms() + delay_ms;
        req->seq = server.next_seq++;
        req->state = SANDBOX_ST_DELAYED;
        MHD_suspend_connection(req->conn);
        sandbox_heap_push(&server.heap, req);
        sandbox_in_flight_add_locked(1);
        wake = sandbox_heap_top(&server.heap) == req; /* the timer sleeps for a later one */
        queued = 1;
    }
    pthread_mutex_unlock(&server.lock);
    if (wake) sandbox_timer_wake();
    return queued ? MHD_YES : sandbox_req_answer(req);
}

/* The full request is in: admin calls answer now, platform calls draw
 * their fate and wait out the latency first. */
static enum MHD_Result sandbox_req_complete(sandbox_request *req) {
    sandbox_req_parse_body(req);
    if (req->body_too_large) {
        sandbox_reply_raw(req, MHD_HTTP_CONTENT_TOO_LARGE, "application/json",
                          strdup("{\"error\":\"request body too large\"}"));
        return sandbox_req_send(req);
    }
    if (req->platform == NULL) {
        req->state = SANDBOX_ST_ANSWERED;
        sandbox_admin_handle(req);
        return sandbox_req_send(req);
    }
    pthread_mutex_lock(&server.lock);
    int64_t delay = sandbox_req_draw_locked(req);
    pthread_mutex_unlock(&server.lock);
    if (delay > 0) return sandbox_req_delay(req, delay);
    return sandbox_req_answer(req);
}

static enum MHD_Result sandbox_req_begin(struct MHD_Connection *conn, const char *url,
                                         const char *method, void **con_cls) {
    sandbox_request *req = calloc(1, sizeof(*req));
    if (req == NULL) return MHD_NO;
    req->conn = conn;
    req->method = method;
    req->path = url;
    req->received_ms = sandbox_wall_ms();
    req->fd = -1;
    if (strncmp(url, SANDBOX_ADMIN_PREFIX, strlen(SANDBOX_ADMIN_PREFIX)) != 0 &&
        (req->platform = sandbox_route(url)) == NULL) {
        free(req); /* no catch-all platform in the table: refuse */
        return MHD_NO;
    }
    *con_cls = req;
    return MHD_YES;
}

static enum MHD_Result sandbox_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls) {
    sandbox_request *req = *con_cls;
    (void)cls;
    (void)version;
    if (req == NULL) return sandbox_req_begin(conn, url, method, con_cls);
    if (*upload_data_size != 0) {
        sandbox_req_append(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (req->state) {
    case SANDBOX_ST_BODY: return sandbox_req_complete(req);
    case SANDBOX_ST_DELAYED: /* resumed by the timer: the answer is due */
        return sandbox_req_answer(req);
    case SANDBOX_ST_HELD: /* resumed because the client left, or shutdown */
    case SANDBOX_ST_ANSWERED:
    default: return MHD_NO;
    }
}

static void sandbox_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe) {
    sandbox_request *req = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (req == NULL) return;
    /* Held connections are always unlinked before they are resumed, and
     * MHD only closes resumed ones; this guards against surprises. */
    pthread_mutex_lock(&server.lock);
    if (req->held) sandbox_held_unlink_locked(req);
    pthread_mutex_unlock(&server.lock);
    sandbox_req_free(req);
    *con_cls = NULL;
}

/* ------------------------------------------------------------------------
 * Start and stop
 * --------------------------------------------------------------------- */

static int sandbox_resolve(const char *host, unsigned port, struct sockaddr_storage *ss,
                           int *is_v6) {
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    int rc;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(host && *host ? host : "0.0.0.0", portstr, &hints, &res);
    if (rc != 0) {
        sandbox_log("cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *is_v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

static int sandbox_timer_start(void) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    server.epfd = epoll_create1(EPOLL_CLOEXEC);
    server.wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (server.epfd < 0 || server.wakefd < 0 ||
        epoll_ctl(server.epfd, EPOLL_CTL_ADD, server.wakefd, &ev) != 0) {
        sandbox_log("cannot set up the timer: %s", strerror(errno));
        return -1;
    }
    int rc = pthread_create(&server.timer, NULL, sandbox_timer_main, NULL);
    if (rc != 0) {
        sandbox_log("cannot start the timer thread: %s", strerror(rc));
        return -1;
    }
    server.timer_started = 1;
    return 0;
}

/* HTTPS is optional so a benchmark can price TLS handshakes and record
 * encryption against the same imitation (bench/run.sh BENCH_TLS=1). The
 * options go in as an array: without TLS the array simply ends earlier,
 * and the libmicrohttpd build must say it has TLS at all (Debian's links
 * GnuTLS) or we refuse to start rather than serve plain HTTP to a client
 * that expects https. */
static int sandbox_tls_options(const sandbox_config *cfg, unsigned *flags,
                               struct MHD_OptionItem *opts) {
    if (cfg->tls_cert_pem == NULL && cfg->tls_key_pem == NULL) return 0;
    if (cfg->tls_cert_pem == NULL || cfg->tls_key_pem == NULL) {
        sandbox_log("--tls-cert and --tls-key go together");
        return -1;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        sandbox_log("this libmicrohttpd was built without TLS: cannot serve https");
        return -1;
    }
    *flags |= MHD_USE_TLS;
    opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem};
    opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem};
    return 2;
}

static void sandbox_connection_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                                      enum MHD_ConnectionNotificationCode code) {
    (void)cls, (void)conn, (void)socket_ctx;
    if (code != MHD_CONNECTION_NOTIFY_STARTED) return;
    pthread_mutex_lock(&server.lock);
    server.stats.connections++;
    pthread_mutex_unlock(&server.lock);
}

static int sandbox_daemon_start(const sandbox_config *cfg) {
    struct sockaddr_storage ss;
    int is_v6 = 0;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls[3];
    int ntls = sandbox_tls_options(cfg, &flags, tls);
    if (ntls < 0) return -1;
    tls[ntls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    server.tls = ntls > 0;
    if (sandbox_resolve(cfg->host, cfg->port, &ss, &is_v6) != 0) return -1;
    /* poll(), not epoll: with MHD's epoll mode (libmicrohttpd 0.9.75) about
     * one overhead run in four had a hundred answers that never left the
     * server for the client's whole timeout (10 s), the posts committed: a
     * fault the profile did not ask for, halving its figure. With poll, 0
     * in 14 runs (bench/README.md, 2026-12-07). Faults come from the knobs. */
    flags |= MHD_USE_POLL;
    if (is_v6) flags |= MHD_USE_IPv6;
    server.daemon =
        MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, sandbox_access, NULL,
                         MHD_OPTION_EXTERNAL_LOGGER, sandbox_mhd_log, NULL, /* must come first */
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)SANDBOX_CONNECTION_LIMIT, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                         (unsigned)SANDBOX_LISTEN_BACKLOG, MHD_OPTION_NOTIFY_COMPLETED,
                         sandbox_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
                         sandbox_connection_notify, NULL, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (server.daemon == NULL) {
        sandbox_log("cannot listen on %s:%u", cfg->host, cfg->port);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(server.daemon, MHD_DAEMON_INFO_BIND_PORT);
    server.port = di ? di->port : cfg->port;
    return 0;
}

int sandbox_server_start(const sandbox_config *cfg) {
    int rc = pthread_mutex_init(&server.lock, NULL);
    if (rc != 0) {
        sandbox_log("pthread_mutex_init: %s", strerror(rc));
        return -1;
    }
    server.epfd = server.wakefd = -1;
    server.knobs = cfg->knobs;
    server.next_object_id = SANDBOX_FIRST_OBJECT_ID;
    sandbox_rng_seed_locked(cfg->seed);
    if (sandbox_timer_start() != 0 || sandbox_daemon_start(cfg) != 0) {
        sandbox_server_stop();
        return -1;
    }
    return 0;
}

unsigned sandbox_server_port(void) { return server.port; }

void sandbox_server_stop(void) {
    pthread_mutex_lock(&server.lock);
    server.stopping = 1;
    pthread_mutex_unlock(&server.lock);
    if (server.timer_started) {
        sandbox_timer_wake();
        int rc = pthread_join(server.timer, NULL);
        if (rc != 0) sandbox_log("pthread_join: %s", strerror(rc));
        server.timer_started = 0;
    }
    if (server.daemon) MHD_stop_daemon(server.daemon);
    server.daemon = NULL;
    if (server.epfd >= 0) close(server.epfd);
    if (server.wakefd >= 0) close(server.wakefd);
    server.epfd = server.wakefd = -1;
    sandbox_store_clear_locked(); /* single-threaded again: no lock needed */
    free(server.stats.errors);
    sandbox_heap_free(&server.heap);
    server.stats.errors = NULL;
    pthread_mutex_destroy(&server.lock);
}
