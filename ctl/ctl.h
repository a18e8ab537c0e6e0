/* ctl.h -- autopostctl, the operator's tool: what its files share.
 *
 * Layout (one concern per file, like the services):
 *   main.c          global flags and the command table
 *   ctl_options.c   every command's options from one table: --config, --help,
 *                   bad options and bad values handled once
 *   ctl_util.c      config, PostgreSQL and NATS plumbing, usage errors
 *   ctl_post.c      what a post to schedule is and the rules it must pass;
 *                   no I/O, so tests/unit/test_ctl_post.c covers it
 *   ctl_migrate.c   `migrate`, `streams apply`
 *   ctl_kv_legacy.c `streams migrate-kv` (shared KV buckets -> per platform)
 *   ctl_accounts.c  `accounts add|list|set-status`
 *   ctl_accounts_import.c  `accounts import` (JSON Lines, all or nothing)
 *   ctl_keys.c      `keys id`, `keys rotate` (re-seal tokens under the current key)
 *   ctl_schedule.c  `schedule`, `cancel`, `retry` (one id or a filter); their
 *                   statements, shared with autopost-console, are store/'s
 *   ctl_import.c    `import` (JSON Lines, COPY in one transaction)
 *   ctl_show.c      `list`, `show`
 *   ctl_status.c    `status`
 *   ctl_failed.c    `failed` (grouped by reason)
 *   ctl_webhooks.c  `webhooks add|list|remove|deliveries` (webhooks/endpoints.h)
 *   ctl_tenants.c   `tenants add|list`
 *   ctl_api_keys.c  `api-keys create|list|revoke` (keys for autopost-api)
 *
 * Conventions: a command returns its exit code (CTL_EXIT_*). Errors go to
 * stderr as "autopostctl: <what went wrong>"; stdout carries only results, so
 * `id=$(autopostctl schedule ...)` works in scripts. Every statement goes
 * through PQexecParams with its values as parameters (the one exception is
 * the text of an embedded migration, which is ours, not user input). */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap_config.h"
#include "ap_nats.h"
#include "ap_pg.h"
#include "ap_status.h"
#include "ap_store.h"

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1  /* the request was understood but failed or was refused */
#define CTL_EXIT_USAGE 2 /* the command line itself is wrong */

/* Talking to the bus is optional for cancel and status: never wait longer. */
#define CTL_NATS_SHORT_TIMEOUT_MS 2000

/* Fixed key for pg_advisory_lock: "autopost" in ASCII. Any constant works as
 * long as every autopostctl uses the same one. */
#define CTL_MIGRATE_LOCK_KEY "7022360927590716276"

/* The tenant of every row made before tenants existed, and of an account
 * added without --tenant or "tenant_id" (deploy/migrations/0010_tenants.sql). */
#define CTL_DEFAULT_TENANT_ID "00000000-0000-0000-0000-000000000001"

typedef struct ctl_ctx {
    const char *config_path; /* --config, global or per command */
    bool verbose;            /* --verbose: let the services' JSON logs through */
    ap_config cfg;
    bool cfg_loaded; /* cfg needs ap_config_free */
    ap_pg pg;
    bool used_nats; /* release the NATS library at exit */
} ctl_ctx;

/* One command or sub-command: argv[0] is its own name. */
typedef int (*ctl_command_fn)(ctl_ctx *ctx, int argc, char **argv);

/* ---- ctl_options.c ------------------------------------------------------ */

/* One option of a command, as data. Set exactly one destination:
 *   flag    --json           sets *flag = true (takes no value)
 *   string  --platform P     *string = the value
 *   number  --limit N        a whole number min..max into *number; with
 *                            optional_value, "--watch", "--watch=5" and
 *                            "--watch 5" all work
 *   take    --media URL      take(value, target) decides; false refuses it
 * seen (optional) is set true whenever the option appears. invalid is the
 * sentence for a refused value; a "%s" in it is replaced by the value. */
typedef struct ctl_opt {
    const char *name; /* without the dashes; NULL ends the table */
    bool *flag;
    const char **string;
    long *number;
    long min, max;
    bool optional_value;
    bool (*take)(char *value, void *target);
    void *target;
    bool *seen;
    const char *invalid;
} ctl_opt;

/* ctl_parse_options's "no exit yet": go on with argv[optind...]. */
#define CTL_OPTS_CONTINUE (-1)

/* Parses cmd's options (opts plus --config FILE and --help, which every
 * command takes). Returns CTL_OPTS_CONTINUE, or the exit code to return
 * now: CTL_EXIT_OK after printing usage for --help, CTL_EXIT_USAGE after
 * explaining a bad option or value. Positional arguments are left at
 * argv[optind...]. */
int ctl_parse_options(ctl_ctx *ctx, const char *cmd, const char *usage, const ctl_opt *opts,
                      int argc, char **argv);

/* ---- ctl_util.c --------------------------------------------------------- */

/* Loads config (file, env, required values for `needs`) and sets up logging.
 * Returns CTL_EXIT_OK or CTL_EXIT_FAIL (the reason is already printed). */
int ctl_setup(ctl_ctx *ctx, int needs);
/* Connects to PostgreSQL; on failure prints why. */
int ctl_pg_connect(ctl_ctx *ctx);
void ctl_ctx_close(ctl_ctx *ctx);

/* Runs a parameterized statement and checks for `want`. Returns the result
 * (caller PQclears) or NULL with err filled. */
PGresult *ctl_exec(ctl_ctx *ctx, const char *sql, int nparams, const char *const *params,
                   ExecStatusType want, char *err, size_t errlen);
/* Runs one of the store's statements (ap_store.h); NULL with err on failure. */
PGresult *ctl_store(ctl_ctx *ctx, ap_store_op op, const char *const *params, char *err,
                    size_t errlen);
/* BEGIN / COMMIT / ROLLBACK; rollback never fails loudly (the connection may
 * already be gone, and the original error is the one worth showing). */
ap_status ctl_begin(ctl_ctx *ctx, char *err, size_t errlen);
ap_status ctl_commit(ctl_ctx *ctx, char *err, size_t errlen);
void ctl_rollback(ctl_ctx *ctx);

/* Connects to NATS and waits at most timeout_ms for the connection (and
 * uses the same bound for JetStream API calls). On failure n is closed;
 * otherwise close it with ap_nats_close. */
ap_status ctl_nats_open(ctl_ctx *ctx, ap_nats *n, int64_t timeout_ms, char *err, size_t errlen);

/* "autopostctl: ..." on stderr; returns CTL_EXIT_FAIL for `return ctl_fail(...)`. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "autopostctl CMD: ...\nTry 'autopostctl CMD --help'."; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "facebook, instagram" (or "none"): for "not configured" messages. */
void ctl_platform_list(const ap_config *cfg, char *buf, size_t len);
/* Parses a bounded non-negative integer argument. */
bool ctl_int_arg(const char *arg, long min, long max, long *out);
/* Formats a PostgreSQL epoch-milliseconds column ("" / NULL -> "-"). */
void ctl_format_ms(const char *ms_text, char *buf, size_t len);
/* Copies s into buf, cut at max_chars characters (UTF-8 aware), adding "..." */
void ctl_truncate(const char *s, size_t max_chars, char *buf, size_t len);

/* The schedule statuses `list --status` takes and `status` counts, in the
 * order the pipeline moves through them. */
#define CTL_NSTATUSES 7
extern const char *const ctl_statuses[CTL_NSTATUSES];
/* Prints v as one compact JSON line and frees it; NULL (out of memory while
 * building it) is reported as such. A CTL_EXIT_* code. */
int ctl_print_json(json_t *v);

/* SQL fragment: a timestamptz column as epoch milliseconds (bigint), so the
 * output does not depend on the session's time zone. */
#define CTL_SQL_MS(col) "(extract(epoch from " col ") * 1000)::bigint"

/* ---- commands ----------------------------------------------------------- */

int ctl_cmd_migrate(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_streams(ctl_ctx *ctx, int argc, char **argv);
int ctl_streams_migrate_kv(ctl_ctx *ctx, bool delete_legacy); /* streams migrate-kv */
int ctl_cmd_accounts(ctl_ctx *ctx, int argc, char **argv);
int ctl_accounts_import(ctl_ctx *ctx, int argc, char **argv); /* accounts import */
int ctl_cmd_keys(ctl_ctx *ctx, int argc, char **argv);
/* keys rotate's KV half (ctl_keys_kv.c): re-seals or purges the refreshed
 * credentials in the autopost_accounts bucket; a CTL_EXIT_* code. */
struct ap_crypto_keyring;
int ctl_keys_rotate_kv(ctl_ctx *ctx, const struct ap_crypto_keyring *ring, bool dry_run);
int ctl_cmd_schedule(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_import(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_list(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_show(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_cancel(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_retry(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_status(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_failed(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_webhooks(ctl_ctx *ctx, int argc, char **argv);
/* For `status`: endpoints marked failing, as a JSON array of {id, tenant_id,
 * url, failing_since} (NULL with err filled on failure), and its text. */
json_t *ctl_webhooks_failing(ctl_ctx *ctx, char *err, size_t errlen);
void ctl_webhooks_failing_print(const json_t *failing);
int ctl_cmd_tenants(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_api_keys(ctl_ctx *ctx, int argc, char **argv);

#endif
