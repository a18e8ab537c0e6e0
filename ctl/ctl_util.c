/* ctl_util.c -- the plumbing every autopostctl command shares: config,
 * PostgreSQL, NATS with a short fuse, and how errors are told.
 *
 * The services' JSON logs are made for log pipelines, not for a person at a
 * terminal, so autopostctl only lets errors through unless --verbose: the
 * command itself says what happened in plain words. */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_log.h"
#include "ap_nats.h"
#include "ap_time.h"

int ctl_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("autopostctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CTL_EXIT_FAIL;
}

int ctl_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "autopostctl %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'autopostctl %s --help'.\n", cmd);
    va_end(ap);
    return CTL_EXIT_USAGE;
}

int ctl_setup(ctl_ctx *ctx, int needs) {
    ctx->cfg_loaded = true; /* ap_config_setup allocates even when it fails */
    if (ap_config_setup(&ctx->cfg, ctx->config_path, needs, NULL) != 0) return CTL_EXIT_FAIL;
    ap_log_init("autopostctl", ctx->cfg.instance);
    ap_log_level level = AP_LOG_ERROR;
    if (ctx->verbose) ap_log_level_parse(ctx->cfg.log_level, &level);
    ap_log_set_level(level);
    return CTL_EXIT_OK;
}

/* Server NOTICEs ("relation already exists, skipping") are noise for a
 * person running a command; --verbose shows them. */
static void pg_notice(void *arg, const char *message) {
    if (*(const bool *)arg) fputs(message, stderr);
}

int ctl_pg_connect(ctl_ctx *ctx) {
    char err[512];
    if (ap_pg_open(&ctx->pg, ctx->cfg.pg_dsn, "autopostctl", err, sizeof(err)) != AP_OK)
        return ctl_fail("cannot connect to PostgreSQL: %s", err);
    PQsetNoticeProcessor(ctx->pg.conn, pg_notice, &ctx->verbose);
    return CTL_EXIT_OK;
}

void ctl_ctx_close(ctl_ctx *ctx) {
    ap_pg_close(&ctx->pg);
    if (ctx->cfg_loaded) ap_config_free(&ctx->cfg);
    ctx->cfg_loaded = false;
    /* Releases the library's threads and caches (and keeps LSan quiet). */
    if (ctx->used_nats) ap_nats_shutdown();
}

PGresult *ctl_exec(ctl_ctx *ctx, const char *sql, int nparams, const char *const *params,
                   ExecStatusType want, char *err, size_t errlen) {
    PGresult *res = PQexecParams(ctx->pg.conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (ap_pg_result_ok(res, want, err, errlen) != AP_OK) {
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *ctl_store(ctl_ctx *ctx, ap_store_op op, const char *const *params, char *err,
                    size_t errlen) {
    PGresult *res = NULL;
    return ap_store_run(ctx->pg.conn, op, params, &res, NULL, err, errlen) == AP_OK ? res : NULL;
}

ap_status ctl_begin(ctl_ctx *ctx, char *err, size_t errlen) {
    PGresult *res = ctl_exec(ctx, "BEGIN", 0, NULL, PGRES_COMMAND_OK, err, errlen);
    PQclear(res);
    return res ? AP_OK : AP_EPG;
}

ap_status ctl_commit(ctl_ctx *ctx, char *err, size_t errlen) {
    PGresult *res = ctl_exec(ctx, "COMMIT", 0, NULL, PGRES_COMMAND_OK, err, errlen);
    PQclear(res);
    return res ? AP_OK : AP_EPG;
}

void ctl_rollback(ctl_ctx *ctx) {
    if (ctx->pg.conn == NULL || PQstatus(ctx->pg.conn) != CONNECTION_OK) return;
    PQclear(PQexec(ctx->pg.conn, "ROLLBACK"));
}

ap_status ctl_nats_open(ctl_ctx *ctx, ap_nats *n, int64_t timeout_ms, char *err, size_t errlen) {
    memset(n, 0, sizeof(*n));
    if (ctx->cfg.nats_url == NULL) {
        snprintf(err, errlen, "NATS is not configured (nats.url or AUTOPOST_NATS_URL)");
        return AP_EINVAL;
    }
    ctx->used_nats = true;
    if (ctx->cfg.nats_connect_timeout_ms > timeout_ms)
        ctx->cfg.nats_connect_timeout_ms = timeout_ms;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = timeout_ms;
    ap_status s = ap_nats_connect(n, &ctx->cfg, "autopostctl", &jo, err, errlen);
    if (s != AP_OK) return s;
    /* ap_nats_connect retries in the background (right for services); a
     * command has a person waiting, so give it a deadline. */
    int64_t deadline = ap_mono_ms() + timeout_ms;
    while (natsConnection_Status(n->nc) != NATS_CONN_STATUS_CONNECTED) {
        if (ap_mono_ms() >= deadline) {
            char shown[512];
            ap_nats_url_masked(ctx->cfg.nats_url, shown, sizeof(shown));
            snprintf(err, errlen, "NATS at %s is not reachable (waited %.1fs)", shown,
                     (double)timeout_ms / 1000.0);
            ap_nats_close(n);
            return AP_ETIMEOUT;
        }
        ap_sleep_ms(20);
    }
    return AP_OK;
}

void ctl_platform_list(const ap_config *cfg, char *buf, size_t len) {
    buf[0] = '\0';
    for (int i = 0; i < cfg->nplatforms; i++) {
        strncat(buf, i ? ", " : "", len - strlen(buf) - 1);
        strncat(buf, cfg->platforms[i].name, len - strlen(buf) - 1);
    }
    if (cfg->nplatforms == 0) snprintf(buf, len, "none");
}

bool ctl_int_arg(const char *arg, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end != '\0' || v < min || v > max) return false;
    *out = v;
    return true;
}

void ctl_format_ms(const char *ms_text, char *buf, size_t len) {
    if (ms_text == NULL || *ms_text == '\0') {
        snprintf(buf, len, "-");
        return;
    }
    ap_time_format_rfc3339(strtoll(ms_text, NULL, 10), buf, len);
}

void ctl_truncate(const char *s, size_t max_chars, char *buf, size_t len) {
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    size_t total = 0;
    for (size_t i = 0; u[i]; i++)
        if ((u[i] & 0xC0) != 0x80) total++; /* count characters, not bytes */
    bool cut = total > max_chars;
    size_t limit = cut ? (max_chars > 3 ? max_chars - 3 : 0) : max_chars;
    size_t o = 0, chars = 0, i = 0;
    if (len == 0) return;
    while (u[i] && chars < limit) {
        size_t n = 1;
        while (u[i + n] && (u[i + n] & 0xC0) == 0x80) n++;
        if (o + n + 4 > len) {
            cut = true;
            break;
        }
        /* One row per line in tables: newlines and tabs become spaces. */
        for (size_t k = 0; k < n; k++) buf[o++] = u[i + k] < 0x20 ? ' ' : (char)u[i + k];
        i += n;
        chars++;
    }
    if (cut && o + 4 <= len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}

const char *const ctl_statuses[CTL_NSTATUSES] = {"pending", "queued",      "retrying", "published",
                                                 "failed",  "unconfirmed", "cancelled"};

int ctl_print_json(json_t *v) {
    if (v == NULL) return ctl_fail("out of memory building JSON");
    int rc = json_dumpf(v, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0
                 ? CTL_EXIT_OK
                 : ctl_fail("cannot write JSON");
    putchar('\n');
    json_decref(v);
    return rc;
}
