/* main.c -- command line, process setup and lifecycle of autopost-sandbox.
 *
 * The process parses flags into a sandbox_config, raises its descriptor
 * limit (each delayed or hung request holds a socket), starts the server,
 * announces the bound address on stdout (one line, flushed, so a test
 * harness can wait for it) and optionally in a port file, then sleeps until
 * SIGINT or SIGTERM.
 *
 * Signals are blocked before any thread exists, so every thread inherits
 * the mask, and main collects them synchronously with sigwait(): shutdown
 * then runs in ordinary context instead of inside a signal handler.
 * SIGPIPE is ignored because clients that give up must not kill us.
 *
 * Knob flags are spelled like the knobs with '-' for '_' (--hang-rate sets
 * hang_rate) and are validated by the same code as POST /_sandbox/config.
 *
 * --tls-cert/--tls-key name PEM files read here, before any thread starts,
 * and held in memory until the server has stopped: the server only ever
 * sees PEM text, so it needs no file handling of its own.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define SANDBOX_DEFAULT_LISTEN "127.0.0.1:8090"

typedef struct sandbox_args {
    sandbox_config cfg;
    char host[256];
    const char *port_file;
    const char *tls_cert_file;
    const char *tls_key_file;
} sandbox_args;

enum { OPT_LISTEN = 256, OPT_PORT_FILE, OPT_SEED, OPT_HELP, OPT_TLS_CERT, OPT_TLS_KEY, OPT_KNOB };

static const struct option sandbox_options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"help", no_argument, NULL, OPT_HELP},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"latency-ms", required_argument, NULL, OPT_KNOB},
    {"latency-jitter-ms", required_argument, NULL, OPT_KNOB},
    {"error-rate-5xx", required_argument, NULL, OPT_KNOB},
    {"throttle-rate", required_argument, NULL, OPT_KNOB},
    {"hang-rate", required_argument, NULL, OPT_KNOB},
    {"close-rate", required_argument, NULL, OPT_KNOB},
    {"resend-rate", required_argument, NULL, OPT_KNOB},
    {"duplicate-window-ms", required_argument, NULL, OPT_KNOB},
    {"page-rate-limit", required_argument, NULL, OPT_KNOB},
    {"rate-window-ms", required_argument, NULL, OPT_KNOB},
    {"reject-duplicates", required_argument, NULL, OPT_KNOB},
    {"faults-on-reads", required_argument, NULL, OPT_KNOB},
    {"max-held", required_argument, NULL, OPT_KNOB},
    {"container-ready-ms", required_argument, NULL, OPT_KNOB},
    {"publish-error-after-commit-rate", required_argument, NULL, OPT_KNOB},
    {"instagram-quota", required_argument, NULL, OPT_KNOB},
    {"threads-quota", required_argument, NULL, OPT_KNOB},
    {"quota-window-ms", required_argument, NULL, OPT_KNOB},
    {NULL, 0, NULL, 0},
};

static void sandbox_usage(FILE *out) {
    fputs("usage: autopost-sandbox [options]\n"
          "  --listen HOST:PORT         bind address (default " SANDBOX_DEFAULT_LISTEN
          "; port 0 = any free port)\n"
          "  --port-file PATH           also write the bound port to PATH\n"
          "  --seed N                   RNG seed for reproducible faults\n"
          "  --tls-cert PEM --tls-key PEM\n"
          "                             serve https with this certificate and key\n"
          "  --latency-ms N             delay of every platform answer (0)\n"
          "  --latency-jitter-ms N      extra delay, uniform in [0,N] (0)\n"
          "  --error-rate-5xx F         fraction answered 500, code 2 (0)\n"
          "  --throttle-rate F          fraction answered code 4 (0)\n"
          "  --hang-rate F              fraction of publishes accepted, never answered (0)\n"
          "  --close-rate F             fraction of publishes accepted, then the connection\n"
          "                             closed with no answer (0)\n"
          "  --resend-rate F            fraction of publishes sent twice by a retrying proxy:\n"
          "                             the first commits, the client gets the second answer (0)\n"
          "  --duplicate-window-ms MS   how recent an earlier post must be to make a new one\n"
          "                             with the same message a duplicate, 0 = ever (86400000)\n"
          "  --page-rate-limit N        accepted publishes per page per window, 0 = off (0)\n"
          "  --rate-window-ms MS        window of the page limit (60000)\n"
          "  --reject-duplicates 0|1    duplicate message -> code 506 (1)\n"
          "  --faults-on-reads 0|1      inject 5xx/throttle into GETs too (0)\n"
          "  --max-held N               cap on hung connections kept open (5000)\n"
          "  --container-ready-ms MS    Instagram/Threads containers IN_PROGRESS this long (0)\n"
          "  --publish-error-after-commit-rate F\n"
          "                             fraction of Instagram/Threads publishes made, then\n"
          "                             answered 500 or \"already published\" (0)\n"
          "  --instagram-quota N        Instagram posts per account per 24 h (50)\n"
          "  --threads-quota N          Threads posts per account per 24 h (250)\n"
          "  --quota-window-ms MS       rolling window of both quotas (86400000)\n",
          out);
}

/* HOST:PORT, [V6]:PORT or :PORT (all interfaces). */
static int sandbox_parse_listen(const char *arg, char *host, size_t hostlen, unsigned *port) {
    const char *colon, *h = arg, *hend;
    char *end;
    if (arg[0] == '[') {
        h = arg + 1;
        hend = strchr(h, ']');
        if (hend == NULL || hend[1] != ':') return -1;
        colon = hend + 1;
    } else {
        colon = strrchr(arg, ':');
        if (colon == NULL) return -1;
        hend = colon;
    }
    if ((size_t)(hend - h) >= hostlen || colon[1] == '\0') return -1;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p > 65535 || colon[1] == '-') return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    *port = (unsigned)p;
    return 0;
}

static int sandbox_parse_seed(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || *s == '\0' || *s == '-') return -1;
    *out = (uint64_t)v;
    return 0;
}

/* --hang-rate -> hang_rate */
static int sandbox_parse_knob_flag(sandbox_knobs *k, const char *flag, const char *value) {
    char name[64];
    size_t i;
    for (i = 0; flag[i] && i + 1 < sizeof(name); i++) name[i] = flag[i] == '-' ? '_' : flag[i];
    name[i] = '\0';
    return sandbox_knob_parse(k, name, value);
}

static int sandbox_parse_one(sandbox_args *a, int opt, int idx, const char *val) {
    switch (opt) {
    case OPT_LISTEN: return sandbox_parse_listen(val, a->host, sizeof(a->host), &a->cfg.port);
    case OPT_PORT_FILE: a->port_file = val; return 0;
    case OPT_SEED: return sandbox_parse_seed(val, &a->cfg.seed);
    case OPT_TLS_CERT: a->tls_cert_file = val; return 0;
    case OPT_TLS_KEY: a->tls_key_file = val; return 0;
    case OPT_KNOB: return sandbox_parse_knob_flag(&a->cfg.knobs, sandbox_options[idx].name, val);
    default: return -1;
    }
}

/* 0 to run, 1 to exit successfully (--help), 2 on a usage error. */
static int sandbox_parse_args(int argc, char **argv, sandbox_args *a) {
    int opt, idx = -1;
    memset(a, 0, sizeof(*a));
    sandbox_knobs_default(&a->cfg.knobs);
    a->cfg.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (sandbox_parse_listen(SANDBOX_DEFAULT_LISTEN, a->host, sizeof(a->host), &a->cfg.port) != 0)
        return 2;
    while ((opt = getopt_long(argc, argv, "", sandbox_options, &idx)) != -1) {
        if (opt == OPT_HELP) {
            sandbox_usage(stdout);
            return 1;
        }
        if (opt == '?' || sandbox_parse_one(a, opt, idx, optarg) != 0) {
            if (opt != '?')
                fprintf(stderr, "autopost-sandbox: bad value '%s' for --%s\n", optarg,
                        sandbox_options[idx].name);
            sandbox_usage(stderr);
            return 2;
        }
        idx = -1;
    }
    if (optind != argc) {
        fprintf(stderr, "autopost-sandbox: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if ((a->tls_cert_file == NULL) != (a->tls_key_file == NULL)) {
        fprintf(stderr, "autopost-sandbox: --tls-cert and --tls-key go together\n");
        return 2;
    }
    a->cfg.host = a->host;
    return 0;
}

/* A whole PEM file as a NUL-terminated string (caller frees), or NULL with
 * the reason logged. 1 MiB is far beyond any certificate chain or key. */
static char *sandbox_read_pem(const char *path) {
    enum { PEM_MAX = 1 << 20 };
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    if (f == NULL) {
        sandbox_log("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(PEM_MAX + 1);
    if (buf != NULL) n = fread(buf, 1, PEM_MAX + 1, f);
    if (buf == NULL || ferror(f) || n == 0 || n > PEM_MAX) {
        sandbox_log("cannot read %s: %s", path,
                    buf == NULL   ? "out of memory"
                    : n > PEM_MAX ? "larger than 1 MiB"
                                  : "empty or unreadable");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Each delayed or hung request is an open socket: take every descriptor
 * the hard limit allows. Failure only lowers the concurrency we reach. */
static void sandbox_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        sandbox_log("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return;
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        sandbox_log("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
}

static int sandbox_block_signals(sigset_t *set) {
    struct sigaction ign;
    int rc;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &ign, NULL) != 0) {
        sandbox_log("sigaction(SIGPIPE): %s", strerror(errno));
        return -1;
    }
    if (sigemptyset(set) != 0 || sigaddset(set, SIGINT) != 0 || sigaddset(set, SIGTERM) != 0)
        return -1;
    rc = pthread_sigmask(SIG_BLOCK, set, NULL);
    if (rc != 0) sandbox_log("pthread_sigmask: %s", strerror(rc));
    return rc == 0 ? 0 : -1;
}

/* Written to a temporary name and renamed, so a reader polling for the
 * file never sees it half written. */
static int sandbox_write_port_file(const char *path, unsigned port) {
    char tmp[4096];
    FILE *f;
    int ok;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -1;
    f = fopen(tmp, "w");
    if (f == NULL) {
        sandbox_log("cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    ok = fprintf(f, "%u\n", port) > 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        sandbox_log("cannot write port file %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int sandbox_announce(const sandbox_args *a) {
    const char *host = a->host[0] ? a->host : "0.0.0.0";
    int v6 = strchr(host, ':') != NULL;
    if (printf("sandbox listening on %s://%s%s%s:%u\n", a->tls_cert_file ? "https" : "http",
               v6 ? "[" : "", host, v6 ? "]" : "", sandbox_server_port()) < 0 ||
        fflush(stdout) != 0) {
        sandbox_log("cannot write to stdout: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void sandbox_wait_for_signal(const sigset_t *set) {
    int sig = 0;
    for (;;) {
        int rc = sigwait(set, &sig);
        if (rc == 0) break;
        sandbox_log("sigwait: %s", strerror(rc));
    }
    sandbox_log("caught signal %d, stopping", sig);
}

int main(int argc, char **argv) {
    sandbox_args a;
    sigset_t set;
    char *cert = NULL, *key = NULL;
    int rc = sandbox_parse_args(argc, argv, &a);
    if (rc != 0) return rc == 1 ? 0 : 2;
    if (a.tls_cert_file != NULL) {
        cert = sandbox_read_pem(a.tls_cert_file);
        key = cert ? sandbox_read_pem(a.tls_key_file) : NULL;
        if (key == NULL) goto fail;
        a.cfg.tls_cert_pem = cert;
        a.cfg.tls_key_pem = key;
    }
    sandbox_raise_nofile();
    if (sandbox_block_signals(&set) != 0) goto fail;
    if (sandbox_server_start(&a.cfg) != 0) goto fail;
    sandbox_log("seed %" PRIu64, a.cfg.seed);
    if ((a.port_file && sandbox_write_port_file(a.port_file, sandbox_server_port()) != 0) ||
        sandbox_announce(&a) != 0) {
        sandbox_server_stop();
        goto fail;
    }
    sandbox_wait_for_signal(&set);
    sandbox_server_stop();
    rc = 0;
    goto cleanup;
fail:
    rc = 1;
cleanup:
    free(cert);
    if (key) explicit_bzero(key, strlen(key)); /* a throwaway key, but still a key */
    free(key);
    return rc;
}
