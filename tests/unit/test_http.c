/* test_http.c -- request/response value helpers (publishers/platforms/http.c): form
 * encoding, Retry-After, header lookup; and the transfer policies of
 * ap_http_easy_new (TLS verification, no redirects, http/https only, body
 * cap, timeout) checked on real libcurl transfers over a Unix socket, so
 * still without any network. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "http_engine.h"
#include "test.h"

/* 2026-11-28T09:00:00Z, the "now" for Retry-After dates. */
#define NOW_MS 1795856400000LL

static void check_form(const char *const *pairs, const char *want) {
    char *got = ap_http_form(pairs);
    CHECK_STR_EQ(got, want);
    free(got);
}

static void test_form_escapes_values(void) {
    const char *spaces[] = {"message", "hello world", NULL};
    check_form(spaces, "message=hello%20world");
    const char *reserved[] = {"q", "a&b=c?d/e#f+g%h", NULL};
    check_form(reserved, "q=a%26b%3Dc%3Fd%2Fe%23f%2Bg%25h");
    const char *utf8[] = {"m", "Việt ✓", NULL};
    check_form(utf8, "m=Vi%E1%BB%87t%20%E2%9C%93");
    const char *unreserved[] = {"k", "AZaz09-._~", NULL};
    check_form(unreserved, "k=AZaz09-._~");
    const char *newline[] = {"caption", "a\nb", NULL};
    check_form(newline, "caption=a%0Ab");
}

static void test_form_joins_and_skips_null(void) {
    const char *pairs[] = {"a", "1", "skip", NULL, "b", "", "c", "3", NULL};
    check_form(pairs, "a=1&b=&c=3");
    const char *first_null[] = {"skip", NULL, "b", "2", NULL};
    check_form(first_null, "b=2");
    const char *none[] = {NULL};
    check_form(none, "");
    const char *all_null[] = {"x", NULL, NULL};
    check_form(all_null, "");
}

static void test_form_grows_past_initial_buffer(void) {
    size_t n = 5000;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    const char *pairs[] = {"a", "x", "message", big, "z", "y", NULL};
    char *got = ap_http_form(pairs);
    CHECK(got != NULL);
    if (got) {
        CHECK(strlen(got) == strlen("a=x&message=") + 3 * n + strlen("&z=y"));
        CHECK(strncmp(got, "a=x&message=%20%20", 18) == 0);
        CHECK(strcmp(got + strlen(got) - 4, "&z=y") == 0);
    }
    free(got);
    free(big);
}

static void test_urlencode(void) {
    char *s = ap_http_urlencode("a b&c");
    CHECK_STR_EQ(s, "a%20b%26c");
    free(s);
    s = ap_http_urlencode("");
    CHECK_STR_EQ(s, "");
    free(s);
}

static void test_retry_after_seconds(void) {
    CHECK(ap_http_retry_after_ms("120", NOW_MS) == 120000);
    CHECK(ap_http_retry_after_ms(" 5 ", NOW_MS) == 5000);
    CHECK(ap_http_retry_after_ms("0", NOW_MS) == 0);
    CHECK(ap_http_retry_after_ms("604800", NOW_MS) == 604800000LL); /* a week: the cap */
    CHECK(ap_http_retry_after_ms("604801", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("99999999999999999999999", NOW_MS) == -1);
}

static void test_retry_after_http_date(void) {
    /* 90 s after NOW_MS. */
    CHECK(ap_http_retry_after_ms("Sat, 28 Nov 2026 09:01:30 GMT", NOW_MS) == 90000);
    CHECK(ap_http_retry_after_ms("Sat, 28 Nov 2026 09:01:30 GMT", NOW_MS + 500) == 89500);
    /* In the past: retry now, not a negative wait. */
    CHECK(ap_http_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NOW_MS) == 0);
    CHECK(ap_http_retry_after_ms("Thu, 01 Jan 1960 00:00:00 GMT", NOW_MS) <= 0);
}

static void test_retry_after_far_future_date(void) {
    /* Same week's ceiling as delta seconds. */
    CHECK(ap_http_retry_after_ms("Sat, 05 Dec 2026 09:00:00 GMT", NOW_MS) == 604800000LL);
    CHECK(ap_http_retry_after_ms("Sat, 05 Dec 2026 09:00:01 GMT", NOW_MS) == -1);
    /* Found by fuzz_retry_after: curl accepts year 888888883, and the
     * conversion to milliseconds overflowed (UBSan). */
    CHECK(ap_http_retry_after_ms("Nov \022 888888883 6", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", NOW_MS) == -1);
}

static void test_retry_after_garbage(void) {
    CHECK(ap_http_retry_after_ms(NULL, NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("   ", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("soon", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("12abc", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("1.5", NOW_MS) == -1);
    CHECK(ap_http_retry_after_ms("-5", NOW_MS) == -1);
}

static void test_response_header_lookup(void) {
    ap_http_response res;
    memset(&res, 0, sizeof(res));
    res.headers[0].name = strdup("Retry-After");
    res.headers[0].value = strdup("30");
    res.headers[1].name = strdup("x-business-use-case-usage");
    res.headers[1].value = strdup("{}");
    res.nheaders = 2;
    res.body = strdup("{}");
    res.body_len = 2;
    CHECK_STR_EQ(ap_http_response_header(&res, "retry-after"), "30");
    CHECK_STR_EQ(ap_http_response_header(&res, "RETRY-AFTER"), "30");
    CHECK_STR_EQ(ap_http_response_header(&res, "X-Business-Use-Case-Usage"), "{}");
    CHECK(ap_http_response_header(&res, "Retry-After-Ms") == NULL);
    CHECK(ap_http_response_header(&res, "location") == NULL);
    ap_http_response_clear(&res);
    CHECK(res.nheaders == 0 && res.body == NULL);
    CHECK(ap_http_response_header(&res, "retry-after") == NULL);
}

static void test_request_headers(void) {
    ap_http_request req;
    ap_http_request_init(&req, "POST");
    CHECK_STR_EQ(req.method, "POST");
    CHECK(req.url == NULL && req.body == NULL && req.nheaders == 0);
    for (int i = 0; i < AP_HTTP_MAX_HEADERS; i++)
        CHECK(ap_http_request_add_header(&req, "X-N", "v") == 0);
    CHECK(ap_http_request_add_header(&req, "X-Full", "v") == -1);
    CHECK(req.nheaders == AP_HTTP_MAX_HEADERS);
    req.url = strdup("https://example.com/");
    req.body = strdup("a=1");
    req.body_len = 3;
    ap_http_request_clear(&req);
    CHECK(req.nheaders == 0 && req.url == NULL && req.body == NULL);
    CHECK_STR_EQ(req.method, "POST"); /* kept for a retry of the same call */
}

/* ---- transfer policies -------------------------------------------------------
 * curl talks to a Unix socket (CURLOPT_UNIX_SOCKET_PATH) whatever host the
 * URL names; a thread plays the platform behind it and accepts exactly one
 * connection, so a client that followed a redirect (a second connection)
 * would fail loudly, and the sockets curl opens are counted. */

/* libssl, for the fake platform's TLS side. The tests link libcrypto but not
 * libssl; libcurl already loaded libssl (it is built on OpenSSL here), so its
 * functions are looked up at run time instead of adding a link dependency.
 * Without them the TLS test is skipped, not failed. */
typedef struct ssl_api {
    __typeof__(&TLS_server_method) server_method;
    __typeof__(&SSL_CTX_new) ctx_new;
    __typeof__(&SSL_CTX_free) ctx_free;
    __typeof__(&SSL_CTX_use_certificate) use_certificate;
    __typeof__(&SSL_CTX_use_PrivateKey) use_private_key;
    __typeof__(&SSL_new) ssl_new;
    __typeof__(&SSL_free) ssl_free;
    __typeof__(&SSL_set_fd) set_fd;
    __typeof__(&SSL_accept) accept;
    __typeof__(&SSL_read) read;
    __typeof__(&SSL_write) write;
} ssl_api;

static bool ssl_api_load(ssl_api *a) {
#define LOAD(field, name)                                                                          \
    if ((*(void **)&a->field = dlsym(RTLD_DEFAULT, name)) == NULL) return false
    LOAD(server_method, "TLS_server_method");
    LOAD(ctx_new, "SSL_CTX_new");
    LOAD(ctx_free, "SSL_CTX_free");
    LOAD(use_certificate, "SSL_CTX_use_certificate");
    LOAD(use_private_key, "SSL_CTX_use_PrivateKey");
    LOAD(ssl_new, "SSL_new");
    LOAD(ssl_free, "SSL_free");
    LOAD(set_fd, "SSL_set_fd");
    LOAD(accept, "SSL_accept");
    LOAD(read, "SSL_read");
    LOAD(write, "SSL_write");
#undef LOAD
    return true;
}

typedef struct fake_platform {
    int listener;
    int fd;             /* the accepted connection */
    const char *head;   /* status line and headers, sent after the request */
    size_t body_bytes;  /* then this many 'x' */
    bool hang;          /* read the request, never answer */
    const ssl_api *tls; /* speak TLS with a self-signed certificate */
    X509 *cert;
    EVP_PKEY *pkey;
    int requests;     /* complete requests read */
    bool outside_url; /* the GET is a post's media URL (media_allow_private off) */
    pthread_t thread;
} fake_platform;

typedef struct fake_io {
    fake_platform *f;
    SSL *ssl;
} fake_io;

static ssize_t fake_read(fake_io *io, char *buf, size_t n) {
    if (io->ssl) return io->f->tls->read(io->ssl, buf, (int)n);
    return recv(io->f->fd, buf, n, 0);
}

static bool fake_write(fake_io *io, const char *buf, size_t n) {
    if (io->ssl) return io->f->tls->write(io->ssl, buf, (int)n) == (int)n;
    /* MSG_NOSIGNAL: curl hanging up mid-body (the cap) must not kill us. */
    return send(io->f->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static void fake_serve(fake_io *io) {
    char req[8192];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(req) - 1 && (n = fake_read(io, req + len, sizeof(req) - 1 - len)) > 0) {
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n")) break; /* the tests send no body */
    }
    if (len == 0 || strstr(req, "\r\n\r\n") == NULL) return;
    io->f->requests++;
    if (io->f->hang) {
        while (fake_read(io, req, sizeof(req)) > 0) continue; /* until curl gives up */
        return;
    }
    if (!fake_write(io, io->f->head, strlen(io->f->head))) return;
    char chunk[16384];
    memset(chunk, 'x', sizeof(chunk));
    for (size_t sent = 0; sent < io->f->body_bytes;) {
        size_t k =
            io->f->body_bytes - sent < sizeof(chunk) ? io->f->body_bytes - sent : sizeof(chunk);
        if (!fake_write(io, chunk, k)) return;
        sent += k;
    }
}

static void *fake_main(void *arg) {
    fake_platform *f = arg;
    f->fd = accept(f->listener, NULL, NULL);
    close(f->listener); /* one connection, ever */
    if (f->fd < 0) return NULL;
    fake_io io = {f, NULL};
    SSL_CTX *ctx = NULL;
    if (f->tls) {
        ctx = f->tls->ctx_new(f->tls->server_method());
        if (ctx && f->tls->use_certificate(ctx, f->cert) == 1 &&
            f->tls->use_private_key(ctx, f->pkey) == 1 && (io.ssl = f->tls->ssl_new(ctx)) &&
            f->tls->set_fd(io.ssl, f->fd) == 1 && f->tls->accept(io.ssl) == 1)
            fake_serve(&io);
        if (io.ssl) f->tls->ssl_free(io.ssl);
        if (ctx) f->tls->ctx_free(ctx);
    } else {
        fake_serve(&io);
    }
    close(f->fd);
    return NULL;
}

static curl_socket_t fake_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr) {
    (*(int *)clientp)++;
    return socket(addr->family, addr->socktype, addr->protocol);
}

/* A listening Unix socket in a fresh directory; path receives its name. */
static int fake_listen(char *dir, size_t dirlen, struct sockaddr_un *sa) {
    snprintf(dir, dirlen, "/tmp/ap_test_http_XXXXXX");
    if (mkdtemp(dir) == NULL) return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/platform.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)sa, sizeof(*sa)) != 0 || listen(fd, 4) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static ap_platform_config test_platform(void) {
    ap_platform_config pc;
    memset(&pc, 0, sizeof(pc));
    snprintf(pc.name, sizeof(pc.name), "facebook");
    pc.timeout_ms = 10000;
    /* curl counts the TLS handshake as connecting: under ASan on a loaded
     * machine it has taken more than a second (curl 28, a false failure). */
    pc.connect_timeout_ms = 10000;
    pc.tls_verify = true; /* the default (ap_config) */
    return pc;
}

/* One GET of url through ap_http_easy_new against f; fills *res (clear it
 * after) and *opens (sockets curl opened). */
static CURLcode fake_transfer(fake_platform *f, const ap_platform_config *pc, const char *url,
                              ap_http_response *res, int *opens) {
    char dir[64];
    struct sockaddr_un sa;
    memset(res, 0, sizeof(*res));
    *opens = 0;
    f->requests = 0;
    f->listener = fake_listen(dir, sizeof(dir), &sa);
    if (f->listener < 0 || pthread_create(&f->thread, NULL, fake_main, f) != 0) {
        CHECK(!"cannot start the fake platform");
        return CURLE_FAILED_INIT;
    }
    ap_http_request req;
    ap_http_request_init(&req, "GET");
    req.url = strdup(url);
    req.outside_url = f->outside_url;
    CHECK(ap_http_request_add_header(&req, "Authorization", "Bearer not-a-real-token") == 0);
    struct curl_slist *headers = NULL;
    CURLcode rc = CURLE_FAILED_INIT;
    CURL *e = ap_http_easy_new(NULL, &req, pc, false, res, &headers);
    CHECK(e != NULL);
    if (e) {
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, sa.sun_path);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, fake_open);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, opens);
        rc = curl_easy_perform(e);
        ap_http_easy_finish(e, rc, res);
        curl_easy_cleanup(e);
    }
    /* If curl never connected, this connection releases the waiting accept;
     * otherwise the listener is already closed and it fails, harmlessly. */
    int wake = socket(AF_UNIX, SOCK_STREAM, 0);
    if (wake >= 0) {
        (void)!connect(wake, (struct sockaddr *)&sa, sizeof(sa));
        close(wake);
    }
    pthread_join(f->thread, NULL);
    unlink(sa.sun_path);
    rmdir(dir);
    curl_slist_free_all(headers);
    ap_http_request_clear(&req);
    return rc;
}

static void test_transfer_plain_get(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ap_platform_config pc = test_platform();
    fake_platform f = {.head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nRetry-After: 7\r\n\r\n",
                       .body_bytes = 2};
    ap_http_response res;
    int opens;
    CHECK(fake_transfer(&f, &pc, "http://127.0.0.1:9/v19.0/me", &res, &opens) == CURLE_OK);
    CHECK(res.status == 200 && res.transport_error == 0 && res.request_sent);
    CHECK_STR_EQ(res.body, "xx");
    CHECK_STR_EQ(ap_http_response_header(&res, "retry-after"), "7");
    CHECK(opens == 1 && f.requests == 1);
    ap_http_response_clear(&res);
    curl_global_cleanup();
}

/* A redirect could carry the Authorization header to another host: the
 * 3xx is the answer, nothing is followed. */
static void test_transfer_no_redirects(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ap_platform_config pc = test_platform();
    fake_platform f = {.head = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:9/steal\r\n"
                               "Content-Length: 0\r\n\r\n"};
    ap_http_response res;
    int opens;
    CHECK(fake_transfer(&f, &pc, "http://127.0.0.1:9/v19.0/me/feed", &res, &opens) == CURLE_OK);
    CHECK(res.status == 302);
    CHECK_STR_EQ(ap_http_response_header(&res, "location"), "http://127.0.0.2:9/steal");
    CHECK(opens == 1 && f.requests == 1);
    ap_http_response_clear(&res);
    curl_global_cleanup();
}

static void test_transfer_only_http_https(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ap_platform_config pc = test_platform();
    const char *urls[] = {"file:///etc/passwd",   "ftp://127.0.0.1:9/x",  "gopher://127.0.0.1:9/x",
                          "dict://127.0.0.1:9/x", "telnet://127.0.0.1:9", "ldap://127.0.0.1:9/x"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        fake_platform f = {.head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"};
        ap_http_response res;
        int opens;
        CURLcode rc = fake_transfer(&f, &pc, urls[i], &res, &opens);
        if (rc != CURLE_UNSUPPORTED_PROTOCOL) fprintf(stderr, "  %s: %d\n", urls[i], (int)rc);
        CHECK(rc == CURLE_UNSUPPORTED_PROTOCOL);
        CHECK(opens == 0 && f.requests == 0 && !res.request_sent && res.status == 0);
        CHECK(res.body == NULL);
        ap_http_response_clear(&res);
    }
    curl_global_cleanup();
}

static void test_transfer_body_cap(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ap_platform_config pc = test_platform();
    char head[128];
    snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
             AP_HTTP_MAX_BODY + 1);
    fake_platform f = {.head = head, .body_bytes = AP_HTTP_MAX_BODY + 1};
    ap_http_response res;
    int opens;
    CHECK(fake_transfer(&f, &pc, "http://127.0.0.1:9/big", &res, &opens) == CURLE_WRITE_ERROR);
    CHECK(res.status == 0 && res.transport_error == CURLE_WRITE_ERROR);
    CHECK(res.body_len <= AP_HTTP_MAX_BODY);
    ap_http_response_clear(&res);

    /* Exactly the cap is still accepted. */
    snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", AP_HTTP_MAX_BODY);
    fake_platform g = {.head = head, .body_bytes = AP_HTTP_MAX_BODY};
    CHECK(fake_transfer(&g, &pc, "http://127.0.0.1:9/big", &res, &opens) == CURLE_OK);
    CHECK(res.status == 200 && res.body_len == AP_HTTP_MAX_BODY);
    ap_http_response_clear(&res);
    curl_global_cleanup();
}

/* A platform that takes the request and never answers: the call ends at
 * platforms.<name>.timeout, and the request is known to have left us (the
 * ambiguous case the runtime must not blindly retry). */
static void test_transfer_timeout(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ap_platform_config pc = test_platform();
    pc.timeout_ms = 300;
    fake_platform f = {.hang = true};
    ap_http_response res;
    int opens;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CURLcode rc = fake_transfer(&f, &pc, "http://127.0.0.1:9/slow", &res, &opens);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(rc == CURLE_OPERATION_TIMEDOUT);
    CHECK(ms >= 250 && ms < 3000);
    CHECK(res.request_sent && res.status == 0 && f.requests == 1);
    ap_http_response_clear(&res);
    curl_global_cleanup();
}

/* A self-signed certificate (what an interceptor would show) for 127.0.0.1. */
static bool self_signed(X509 **cert, EVP_PKEY **pkey) {
    *pkey = EVP_EC_gen("P-256");
    *cert = X509_new();
    if (*pkey == NULL || *cert == NULL) return false;
    X509_NAME *name = X509_get_subject_name(*cert);
    return X509_set_version(*cert, 2) == 1 &&
           ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1) == 1 &&
           X509_gmtime_adj(X509_getm_notBefore(*cert), -3600) != NULL &&
           X509_gmtime_adj(X509_getm_notAfter(*cert), 3600) != NULL &&
           X509_set_pubkey(*cert, *pkey) == 1 &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1",
                                      -1, -1, 0) == 1 &&
           X509_set_issuer_name(*cert, name) == 1 && X509_sign(*cert, *pkey, EVP_sha256()) > 0;
}

static void test_transfer_tls_verification(void) {
    ssl_api api;
    if (!ssl_api_load(&api)) {
        fprintf(stderr, "  skipped: libssl is not loaded (libcurl on another TLS library?)\n");
        return;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    X509 *cert = NULL;
    EVP_PKEY *pkey = NULL;
    CHECK(self_signed(&cert, &pkey));
    ap_platform_config pc = test_platform();
    ap_http_response res;
    int opens;

    /* On (the default): the certificate is refused, nothing is sent. */
    fake_platform f = {.head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
                       .body_bytes = 2,
                       .tls = &api,
                       .cert = cert,
                       .pkey = pkey};
    CURLcode rc = fake_transfer(&f, &pc, "https://127.0.0.1:9/v19.0/me", &res, &opens);
    CHECK(rc == CURLE_PEER_FAILED_VERIFICATION);
    CHECK(res.status == 0 && f.requests == 0);
    ap_http_response_clear(&res);

    /* tls_verify: false (a sandbox only; the publisher logs it loudly). */
    pc.tls_verify = false;
    fake_platform g = f;
    CHECK(fake_transfer(&g, &pc, "https://127.0.0.1:9/v19.0/me", &res, &opens) == CURLE_OK);
    CHECK(res.status == 200 && g.requests == 1);
    CHECK_STR_EQ(res.body, "xx");
    ap_http_response_clear(&res);

    X509_free(cert);
    EVP_PKEY_free(pkey);
    curl_global_cleanup();
}

/* A post's media URL follows redirects, https only, each hop on a new
 * connection. fake_transfer replaces the open-socket callback (the fake is
 * on loopback, which the policy refuses): what is shown here is that a hop
 * opens a socket of its own, where the policy's callback runs in
 * production, and that a hop to plain http is refused before any socket. */
static void test_outside_url_redirects(void) {
    ssl_api api;
    if (!ssl_api_load(&api)) {
        fprintf(stderr, "  skipped: libssl is not loaded (libcurl on another TLS library?)\n");
        return;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    X509 *cert = NULL;
    EVP_PKEY *pkey = NULL;
    CHECK(self_signed(&cert, &pkey));
    ap_platform_config pc = test_platform();
    pc.tls_verify = false;
    ap_http_response res;
    int opens;

    /* A hop to http: refused, no second socket, the answer says why. */
    fake_platform f = {.head = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/a.png\r\n"
                               "Content-Length: 0\r\n\r\n",
                       .tls = &api,
                       .cert = cert,
                       .pkey = pkey,
                       .outside_url = true};
    CHECK(fake_transfer(&f, &pc, "https://127.0.0.1:9/a.png", &res, &opens) ==
          CURLE_UNSUPPORTED_PROTOCOL);
    CHECK(res.scheme_refused && !res.address_refused);
    CHECK_STR_EQ(res.transport_message, "only https is allowed");
    CHECK(opens == 1 && f.requests == 1);
    ap_http_response_clear(&res);

    /* A hop to https is followed on a new connection (the fake takes one
     * connection only, so the hop fails to connect: it did try). */
    fake_platform g = f;
    g.head = "HTTP/1.1 307 Temporary Redirect\r\nLocation: https://127.0.0.1:9/b.png\r\n"
             "Content-Length: 0\r\n\r\n";
    CHECK(fake_transfer(&g, &pc, "https://127.0.0.1:9/a.png", &res, &opens) ==
          CURLE_COULDNT_CONNECT);
    CHECK(opens == 2 && g.requests == 1);
    CHECK(!res.scheme_refused);
    ap_http_response_clear(&res);

    /* The platform's own calls (not outside_url) never follow one. */
    fake_platform h = g;
    h.outside_url = false;
    CHECK(fake_transfer(&h, &pc, "https://127.0.0.1:9/a.png", &res, &opens) == CURLE_OK);
    CHECK(res.status == 307 && opens == 1);
    ap_http_response_clear(&res);

    X509_free(cert);
    EVP_PKEY_free(pkey);
    curl_global_cleanup();
}

/* A TCP listener on 127.0.0.1 that never accepts by itself: a connection
 * curl makes waits in its backlog, where connections_made() finds it. */
static int loopback_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static int connections_made(int listener) {
    int n = 0, c;
    while ((c = accept(listener, NULL, NULL)) >= 0) {
        close(c);
        n++;
    }
    return n;
}

/* One GET of a post's media URL (outside_url) through ap_http_easy_new. */
static CURLcode media_transfer(const char *url, bool allow_private, ap_http_response *res) {
    ap_platform_config pc = test_platform();
    ap_http_request req;
    ap_http_request_init(&req, "GET");
    req.url = strdup(url);
    req.outside_url = true;
    memset(res, 0, sizeof(*res));
    struct curl_slist *headers = NULL;
    CURLcode rc = CURLE_FAILED_INIT;
    CURL *e = ap_http_easy_new(NULL, &req, &pc, allow_private, res, &headers);
    CHECK(e != NULL);
    if (e) {
        /* The listener never answers: an allowed transfer ends here. */
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 300L);
        rc = curl_easy_perform(e);
        ap_http_easy_finish(e, rc, res);
        curl_easy_cleanup(e);
    }
    curl_slist_free_all(headers);
    ap_http_request_clear(&req);
    return rc;
}

/* A post's media URL on loopback is refused before any connection, by
 * address (https) or by scheme (http), with a message that tells nothing
 * about the host; publisher.media_allow_private lets the same URL through. */
static void test_outside_url_policy(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int port = 0, listener = loopback_listener(&port);
    CHECK(listener >= 0);
    char url[128];
    ap_http_response res;
    const char *refused_hosts[] = {"127.0.0.1", "localhost", "[::ffff:127.0.0.1]"};
    for (size_t i = 0; i < sizeof(refused_hosts) / sizeof(refused_hosts[0]); i++) {
        CHECK(snprintf(url, sizeof(url), "https://%s:%d/a.png", refused_hosts[i], port) <
              (int)sizeof(url));
        CHECK(media_transfer(url, false, &res) == CURLE_COULDNT_CONNECT);
        CHECK(res.address_refused && !res.scheme_refused && !res.request_sent);
        CHECK_STR_EQ(res.transport_message, "address not allowed");
        ap_http_response_clear(&res);
    }
    CHECK(snprintf(url, sizeof(url), "http://127.0.0.1:%d/a.png", port) < (int)sizeof(url));
    CHECK(media_transfer(url, false, &res) == CURLE_UNSUPPORTED_PROTOCOL);
    CHECK(res.scheme_refused && !res.request_sent);
    CHECK_STR_EQ(res.transport_message, "only https is allowed");
    ap_http_response_clear(&res);
    CHECK(connections_made(listener) == 0);

    /* The control: with the flag the same URLs connect. */
    CHECK(media_transfer(url, true, &res) == CURLE_OPERATION_TIMEDOUT);
    CHECK(!res.address_refused && !res.scheme_refused);
    ap_http_response_clear(&res);
    CHECK(connections_made(listener) == 1);
    if (listener >= 0) close(listener);
    curl_global_cleanup();
}

int main(void) {
    RUN(test_form_escapes_values);
    RUN(test_form_joins_and_skips_null);
    RUN(test_form_grows_past_initial_buffer);
    RUN(test_urlencode);
    RUN(test_retry_after_seconds);
    RUN(test_retry_after_http_date);
    RUN(test_retry_after_far_future_date);
    RUN(test_retry_after_garbage);
    RUN(test_response_header_lookup);
    RUN(test_request_headers);
    RUN(test_transfer_plain_get);
    RUN(test_transfer_no_redirects);
    RUN(test_transfer_only_http_https);
    RUN(test_transfer_body_cap);
    RUN(test_transfer_timeout);
    RUN(test_transfer_tls_verification);
    RUN(test_outside_url_policy);
    RUN(test_outside_url_redirects);
    return TEST_RESULT();
}
