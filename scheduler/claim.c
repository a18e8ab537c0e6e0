/* claim.c -- the claim's parameters and its prepared statement; claim.h
 * says what the statements do and why. */
#include "claim.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_platforms.h"
#include "ap_store.h"

/* Advisory lock key of the rate-limited claim ("autopost" in ASCII). */
#define CLAIM_LOCK_KEY "8387236541416275828"

/* The claim's parameters as text: batch size, per-account queue cap, the
 * platforms' limits as parallel PostgreSQL arrays, per-tenant queue cap. */
typedef struct claim_params {
    char limit[16], per_account[16], per_tenant[16];
    char platforms[AP_MAX_PLATFORMS * (AP_PLATFORM_NAME_MAX + 1) + 3];
    char account_limits[AP_MAX_PLATFORMS * 12 + 3], account_ms[AP_MAX_PLATFORMS * 21 + 3];
    char app_limits[AP_MAX_PLATFORMS * 12 + 3], app_ms[AP_MAX_PLATFORMS * 21 + 3];
    char probes[AP_MAX_PLATFORMS * 2 + 3];
} claim_params;

/* Appends one element to a "{a,b" array under construction; false when
 * it does not fit (the buffers are sized for AP_MAX_PLATFORMS). */
static bool array_append(char *buf, size_t len, const char *item) {
    size_t used = strlen(buf);
    int n = snprintf(buf + used, len - used, "%s%s", used > 1 ? "," : "", item);
    return n >= 0 && (size_t)n < len - used;
}

/* Fills cp; *limited says whether any platform has a rate limit. Returns
 * false when a parameter does not fit its buffer. */
static bool claim_params_build(claim_params *cp, const ap_config *cfg, bool *limited) {
    int cap = cfg->scheduler_max_queued_per_account;
    int tenant_cap = cfg->scheduler_max_queued_per_tenant;
    snprintf(cp->limit, sizeof(cp->limit), "%d", cfg->scheduler_batch_size);
    snprintf(cp->per_account, sizeof(cp->per_account), "%d", cap > 0 ? cap : INT_MAX);
    snprintf(cp->per_tenant, sizeof(cp->per_tenant), "%d", tenant_cap > 0 ? tenant_cap : INT_MAX);
    /* The per-platform parallel arrays ($3..$8), one element per platform each. */
    enum { NAME, ACC_N, ACC_MS, APP_N, APP_MS, PROBE, NARRAYS };
    char *const arrays[NARRAYS] = {cp->platforms,  cp->account_limits, cp->account_ms,
                                   cp->app_limits, cp->app_ms,         cp->probes};
    const size_t sizes[NARRAYS] = {sizeof(cp->platforms),  sizeof(cp->account_limits),
                                   sizeof(cp->account_ms), sizeof(cp->app_limits),
                                   sizeof(cp->app_ms),     sizeof(cp->probes)};
    for (int k = 0; k < NARRAYS; k++) snprintf(arrays[k], sizes[k], "{");
    *limited = false;
    for (int i = 0; i < cfg->nplatforms; i++) {
        const ap_platform_config *p = &cfg->platforms[i];
        const ap_platform_info *info = ap_platform_info_find(p->name);
        *limited = *limited || p->account_limit > 0 || p->app_limit > 0;
        char numbers[NARRAYS][24];
        snprintf(numbers[ACC_N], sizeof(numbers[ACC_N]), "%d", p->account_limit);
        snprintf(numbers[ACC_MS], sizeof(numbers[ACC_MS]), "%lld", (long long)p->account_window_ms);
        snprintf(numbers[APP_N], sizeof(numbers[APP_N]), "%d", p->app_limit);
        snprintf(numbers[APP_MS], sizeof(numbers[APP_MS]), "%lld", (long long)p->app_window_ms);
        const char *items[NARRAYS] = {p->name,         numbers[ACC_N],
                                      numbers[ACC_MS], numbers[APP_N],
                                      numbers[APP_MS], info && info->reports_usage ? "t" : "f"};
        for (int k = 0; k < NARRAYS; k++)
            if (!array_append(arrays[k], sizes[k], items[k])) return false;
    }
    for (int k = 0; k < NARRAYS; k++) {
        size_t used = strlen(arrays[k]);
        if (used + 2 > sizes[k]) return false;
        memcpy(arrays[k] + used, "}", 2);
    }
    return true;
}

/* The claim is parsed and planned once per connection, not on every tick:
 * it is the biggest statement a tick runs, and on an idle system parsing and
 * planning it was most of a tick's cost. A new connection (a reconnect gets
 * a new backend) prepares it again. One claim connection per process. */
#define CLAIM_STATEMENT "autopost_claim"
static struct {
    const PGconn *conn;
    int backend_pid;
} claim_statement;

/* Returns NULL when the statement is ready, else PostgreSQL's answer. The
 * statement (fair or oldest-first) follows from the config, fixed for the
 * process, so the connection alone says whether it is prepared. */
static PGresult *claim_prepare(ap_pg *pg, const char *sql, int nparams) {
    int pid = PQbackendPID(pg->conn);
    if (claim_statement.conn == pg->conn && claim_statement.backend_pid == pid) return NULL;
    PGresult *res = PQprepare(pg->conn, CLAIM_STATEMENT, sql, nparams, NULL);
    bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    claim_statement.conn = ok ? pg->conn : NULL;
    claim_statement.backend_pid = ok ? pid : 0;
    if (!ok) return res ? res : PQmakeEmptyPGresult(pg->conn, PGRES_FATAL_ERROR);
    PQclear(res);
    return NULL;
}

PGresult *ap_claim_run(ap_pg *pg, const ap_config *cfg, const char *prefix) {
    claim_params cp;
    bool limited;
    if (!claim_params_build(&cp, cfg, &limited)) return NULL;
    const char *params[] = {cp.limit,          cp.per_account, cp.platforms,
                            cp.account_limits, cp.account_ms,  cp.app_limits,
                            cp.app_ms,         cp.probes,      cp.per_tenant};
    if (limited) {
        /* Rate limits must hold across scheduler replicas too: one claim at a
         * time, released when this tick's transaction ends. */
        PGresult *lock = PQexec(pg->conn, "SELECT pg_advisory_xact_lock(" CLAIM_LOCK_KEY ")");
        if (lock == NULL || PQresultStatus(lock) != PGRES_TUPLES_OK) return lock;
        PQclear(lock);
    }
    bool fair = limited || cfg->scheduler_max_queued_per_account > 0;
    ap_store_claim statement = ap_store_claim_statement(fair);
    const char *sql = statement.sql;
    int nparams = statement.nparams;
    if (prefix) {
        size_t n = strlen(prefix) + strlen(sql) + 1;
        char *text = malloc(n);
        if (text == NULL) return NULL;
        snprintf(text, n, "%s%s", prefix, sql);
        PGresult *res = PQexecParams(pg->conn, text, nparams, NULL, params, NULL, NULL, 0);
        free(text);
        return res;
    }
    PGresult *failed = claim_prepare(pg, sql, nparams);
    if (failed) return failed;
    return PQexecPrepared(pg->conn, CLAIM_STATEMENT, nparams, params, NULL, NULL, 0);
}
