/* ctl_schedule.c -- `schedule`, `cancel` and `retry`: the commands that
 * create a schedule or move one by hand.
 *
 * The database is the authority on a schedule's state, so each hand move is
 * one transaction that locks the row (SELECT ... FOR UPDATE), checks the
 * state it is allowed from, moves it, and writes the schedule_attempts line
 * that tells the story later. Services race with us (the scheduler queues a
 * pending row, the dispatcher finishes a queued one); the row lock makes the
 * check and the move one step, and the UPDATE repeats the allowed states as
 * a second guard.
 *
 * Cancel is the sequence autopost-api shares (cancel.h, ap_cancel_schedule):
 * a queued schedule is already on the bus, so the cancel mark goes into the
 * publishers' attempt record first (create-if-absent): either we get there
 * first and no publisher posts it, or a publisher already holds it and
 * nothing changes (exit 1, saying so) instead of pretending. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_pg_array.h"
#include "ap_time.h"
#include "cancel.h"
#include "ctl.h"
#include "ctl_post.h"
#include "guard.h"

/* The actor of the history lines a hand move writes. */
#define CTL_ACTOR "autopostctl"

static const char schedule_usage[] =
    "usage: autopostctl schedule --account ACCOUNT_ID --at RFC3339|now --text TEXT\n"
    "                            [--link URL] [--media URL]... [--media-type "
    "image|video|gif|document]\n"
    "                            [--priority normal|urgent] [--deadline RFC3339] [--allow-past]\n"
    "                            [--format feed|story|reel] [--variant KEY=TEXT]...\n"
    "                            [--thread TEXT]... [--first-comment TEXT]\n"
    "       autopostctl schedule --account ACCOUNT_ID --rrule RULE --tz ZONE\n"
    "                            --start YYYY-MM-DDTHH:MM:SS --text TEXT [--link URL] ...\n\n"
    "Schedules one post and prints the new schedule id. Checked before anything is\n"
    "stored: the account exists and is active, the time parses, the post has\n"
    "content, URLs are http(s), and the platform's own rules (length, media).\n"
    "--media may repeat; --media-type applies to every --media (default image).\n"
    "A time more than scheduler.max_past (default 5m) ago is refused (it would be\n"
    "published at once): use --at now, or --allow-past if that is what you mean.\n"
    "With --rrule/--tz/--start instead of --at, a recurring post (the API's\n"
    "\"recurrence\"): an RFC 5545 RRULE (e.g. FREQ=WEEKLY;BYDAY=MO), an IANA zone,\n"
    "and the local wall time of the first occurrence. Checked as the API checks\n"
    "it (api.min_recurrence_interval, an occurrence still to come); prints the\n"
    "post id: the scheduler makes its schedules a horizon ahead.\n"
    "--priority urgent puts it on the urgent lane (README \"Urgent lane\").\n"
    "--format (default feed): story or reel where the platform has them (README\n"
    "\"Formats\"; an Instagram story is one --media and no --text or --link).\n"
    "--thread (may repeat): a part of the thread after --text, each a reply to\n"
    "the one before (X and Threads, up to 24); --first-comment: a reply to the\n"
    "post once it is live (README \"Threads and first comments\").\n"
    "--deadline: if the platform call cannot start by then, the schedule ends\n"
    "expired instead of publishing late (not earlier than --at).\n"
    "--variant KEY=TEXT (may repeat): another text where KEY applies, KEY a\n"
    "platform name or the account's id (the account's wins; README \"Variants\").\n"
    "Takes --config FILE.\n";

static const char cancel_usage[] =
    "usage: autopostctl cancel SCHEDULE_ID [--config FILE]\n\n"
    "Cancels a pending or queued schedule. For a queued one (already handed to\n"
    "the publishers) it first records the cancellation in the JetStream KV bucket\n"
    "" AP_KV_ATTEMPTS "_<platform>, so no publisher posts it; when a publisher\n"
    "already holds the job (it may be live), or the bucket cannot be reached,\n"
    "nothing changes and it exits 1 saying which.\n";

static const char retry_usage[] =
    "usage: autopostctl retry SCHEDULE_ID [--config FILE]\n"
    "       autopostctl retry FILTER... [--status failed|unconfirmed|cancelled]...\n"
    "                         [--dry-run] [--config FILE]\n\n"
    "Sends a failed, unconfirmed or cancelled schedule again, now (or at its time\n"
    "if that is still ahead): new generation, attempts reset, errors cleared,\n"
    "\"retry_requested\" in its history. With one id, prints the new generation.\n\n"
    "With filters instead of an id, retries every matching schedule in one\n"
    "transaction and prints how many it re-queued. FILTER is one or more of:\n"
    "  --platform P           the account's platform\n"
    "  --reason TEXT          error message or code contains TEXT (any case)\n"
    "  --error-class C        retry, quota, reauth, permanent, duplicate, ambiguous,\n"
    "                         invalid\n"
    "  --since T, --until T   when it reached its state (updated_at): RFC 3339, or a\n"
    "                         duration ago (30m, 2h)\n"
    "--status defaults to failed only; add --status unconfirmed on purpose: an\n"
    "unconfirmed post may already be live (check the platform first).\n"
    "--dry-run counts the matches and changes nothing.\n";

/* ---- schedule ----------------------------------------------------------- */

typedef struct schedule_args {
    const char *account, *at, *deadline, *text, *link, *media_type, *priority, *format;
    const char *rrule, *tz, *start; /* a recurring post: all three or none */
    const char **media;
    size_t nmedia;
    const char **variants; /* KEY=TEXT, in order */
    size_t nvariants;
    const char **thread; /* --thread, in order */
    size_t nthread;
    const char *first_comment;
    bool allow_past;
} schedule_args;

/* Every --thread adds one part, in order. */
static bool take_thread(char *value, void *target) {
    schedule_args *a = target;
    const char **t = realloc(a->thread, (a->nthread + 1) * sizeof(*t));
    if (t == NULL) return false;
    a->thread = t;
    a->thread[a->nthread++] = value;
    return true;
}

/* Every --media adds one URL, in order. */
static bool take_media(char *value, void *target) {
    schedule_args *a = target;
    const char **m = realloc(a->media, (a->nmedia + 1) * sizeof(*m));
    if (m == NULL) return false;
    a->media = m;
    a->media[a->nmedia++] = value;
    return true;
}

/* Every --variant adds one KEY=TEXT, in order. */
static bool take_variant(char *value, void *target) {
    schedule_args *a = target;
    if (strchr(value, '=') == NULL || *value == '=') return false;
    const char **v = realloc(a->variants, (a->nvariants + 1) * sizeof(*v));
    if (v == NULL) return false;
    a->variants = v;
    a->variants[a->nvariants++] = value;
    return true;
}

static int parse_schedule_args(ctl_ctx *ctx, int argc, char **argv, schedule_args *a) {
    const ctl_opt opts[] = {
        {.name = "account", .string = &a->account},
        {.name = "at", .string = &a->at},
        {.name = "deadline", .string = &a->deadline},
        {.name = "text", .string = &a->text},
        {.name = "link", .string = &a->link},
        {.name = "media", .take = take_media, .target = a, .invalid = "out of memory"},
        {.name = "media-type", .string = &a->media_type},
        {.name = "variant",
         .take = take_variant,
         .target = a,
         .invalid = "--variant \"%s\": expected KEY=TEXT (KEY a platform name or the account id)"},
        {.name = "priority", .string = &a->priority},
        {.name = "format", .string = &a->format},
        {.name = "thread", .take = take_thread, .target = a, .invalid = "out of memory"},
        {.name = "first-comment", .string = &a->first_comment},
        {.name = "allow-past", .flag = &a->allow_past},
        {.name = "rrule", .string = &a->rrule},
        {.name = "tz", .string = &a->tz},
        {.name = "start", .string = &a->start},
        {0}};
    int rc = ctl_parse_options(ctx, "schedule", schedule_usage, opts, argc, argv);
    if (rc == CTL_EXIT_OK) return -1; /* --help */
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (optind < argc)
        return ctl_usage_error("schedule", "unexpected argument \"%s\"", argv[optind]);
    if (a->account == NULL) return ctl_usage_error("schedule", "--account is required");
    bool recurring = a->rrule || a->tz || a->start;
    if (recurring && !(a->rrule && a->tz && a->start))
        return ctl_usage_error("schedule", "--rrule, --tz and --start go together");
    if (recurring && a->at)
        return ctl_usage_error("schedule", "give either --at or --rrule/--tz/--start, not both");
    if (!recurring && a->at == NULL)
        return ctl_usage_error("schedule",
                               "--at is required (RFC 3339 or now), or --rrule/--tz/--start");
    return CTL_EXIT_OK;
}

/* Fills the post from the arguments and runs the checks that need no
 * database. */
static int build_post(const schedule_args *a, ctl_post *p) {
    char reason[512];
    if (!ap_uuid_normalize(a->account, p->account_id))
        return ctl_fail("--account: \"%s\" is not an account id (a UUID)", a->account);
    if (a->rrule) {
        if (a->priority && strcmp(a->priority, "normal") != 0)
            return ctl_fail("--priority: a recurring post cannot be urgent");
        if (a->deadline)
            return ctl_fail("--deadline: a recurring post has no single deadline (its "
                            "occurrences follow platforms.<p>.max_lateness)");
        if ((p->recur_rrule = strdup(a->rrule)) == NULL || (p->recur_tz = strdup(a->tz)) == NULL ||
            (p->recur_start = strdup(a->start)) == NULL)
            return ctl_fail("out of memory");
    } else if (!ctl_post_set_at(p, a->at, reason, sizeof(reason)))
        return ctl_fail("%s", reason);
    if (a->priority && !ctl_post_set_priority(p, a->priority, reason, sizeof(reason)))
        return ctl_fail("--%s", reason);
    if (a->deadline && !ctl_post_set_deadline(p, a->deadline, reason, sizeof(reason)))
        return ctl_fail("%s", reason);
    if (a->format && !ctl_post_set_format(p, a->format, reason, sizeof(reason)))
        return ctl_fail("--%s", reason);
    if (a->media_type && strcmp(a->media_type, "image") != 0 &&
        strcmp(a->media_type, "video") != 0 && strcmp(a->media_type, "gif") != 0 &&
        strcmp(a->media_type, "document") != 0)
        return ctl_fail("--media-type must be image, video, gif or document, not \"%s\"",
                        a->media_type);
    p->text = strdup(a->text ? a->text : "");
    if (p->text == NULL) return ctl_fail("out of memory");
    if (a->link && (p->link = strdup(a->link)) == NULL) return ctl_fail("out of memory");
    for (size_t i = 0; i < a->nmedia; i++)
        if (!ctl_post_add_media(p, a->media[i], a->media_type, NULL, reason, sizeof(reason)))
            return ctl_fail("%s", reason);
    for (size_t i = 0; i < a->nvariants; i++) {
        const char *eq = strchr(a->variants[i], '=');
        char key[80];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - a->variants[i]), a->variants[i]);
        if (!ctl_post_add_variant_text(p, key, eq + 1, reason, sizeof(reason)))
            return ctl_fail("--variant %s", reason);
    }
    char field[128], why[200];
    if (!ctl_post_check_variant_keys(p, (const char(*)[37]) & p->account_id, 1, field,
                                     sizeof(field), why, sizeof(why)))
        return ctl_fail("--variant: %s: %s", field, why);
    if (a->nthread > 0 || a->first_comment) {
        if (a->rrule) return ctl_fail("--thread and --first-comment are for one-off posts");
        json_t *parts = json_array(),
               *comment = json_string(a->first_comment ? a->first_comment : "");
        for (size_t i = 0; parts && i < a->nthread; i++)
            if (json_array_append_new(parts, json_pack("{s:s}", "text", a->thread[i])) != 0) {
                json_decref(parts);
                parts = NULL;
            }
        bool ok = parts && comment && ctl_post_set_thread(p, parts, reason, sizeof(reason)) &&
                  ctl_post_set_first_comment(p, comment, reason, sizeof(reason));
        if (!parts || !comment) snprintf(reason, sizeof(reason), "out of memory");
        json_decref(parts);
        json_decref(comment);
        if (!ok) return ctl_fail("%s", reason);
    }
    if (!ctl_post_check(p, reason, sizeof(reason))) return ctl_fail("%s", reason);
    return CTL_EXIT_OK;
}

/* The account must exist and take posts; then the platform's rules.
 * tenant gets the account's tenant (a series is stored in it). */
static int check_account(ctl_ctx *ctx, const ctl_post *p, char tenant[37]) {
    char err[512], reason[600];
    const char *params[] = {p->account_id};
    PGresult *res = ctl_exec(ctx,
                             "SELECT platform, external_id, status, status_reason, tenant_id "
                             "FROM social_accounts WHERE id = $1",
                             1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot read account %s: %s", p->account_id, err);
    int rc = CTL_EXIT_OK;
    if (PQntuples(res) == 0)
        rc = ctl_fail("account %s not found", p->account_id);
    else if (!ctl_account_usable(p->account_id, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
                                 reason, sizeof(reason)))
        rc = ctl_fail("%s", reason);
    else if (!ctl_post_validate_platform(p, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), reason,
                                         sizeof(reason)))
        rc = ctl_fail("%s", reason);
    else
        snprintf(tenant, 37, "%s", PQgetvalue(res, 0, 4));
    PQclear(res);
    return rc;
}

/* A recurring post: its rule by the API's rules, then the store's
 * series_create (no schedule rows: the scheduler makes them). */
static int insert_series(ctl_ctx *ctx, const ctl_post *p, const char *tenant) {
    char err[512], why[200], accounts[40];
    const char *field = NULL;
    if (!ctl_recurrence_check(p->recur_rrule, p->recur_tz, p->recur_start,
                              ctx->cfg.api_min_recurrence_interval_ms, ap_now_ms(), &field, why,
                              sizeof(why)))
        return ctl_fail("--%s: %s", field ? field : "rrule", why);
    char *media = ctl_post_media_json(p), *variants = NULL;
    if (media == NULL || !ctl_post_variants_json(p, &variants)) {
        free(media);
        return ctl_fail("out of memory");
    }
    snprintf(accounts, sizeof(accounts), "{%s}", p->account_id);
    const char *params[] = {tenant,      p->text,        p->link,  media,   p->recur_rrule,
                            p->recur_tz, p->recur_start, accounts, variants};
    PGresult *res = ctl_store(ctx, AP_STORE_SERIES_CREATE, params, err, sizeof(err));
    free(media);
    free(variants);
    if (res == NULL) return ctl_fail("cannot store the recurring post: %s", err);
    printf("%s\n", PQgetvalue(res, 0, 0));
    PQclear(res);
    return CTL_EXIT_OK;
}

static int insert_schedule(ctl_ctx *ctx, const ctl_post *p) {
    char err[512], at[32], deadline[32];
    char *media = ctl_post_media_json(p), *variants = NULL;
    if (media == NULL || !ctl_post_variants_json(p, &variants)) {
        free(media);
        return ctl_fail("out of memory");
    }
    if (!p->at_now) ap_time_format_rfc3339(p->at_ms, at, sizeof(at));
    if (p->deadline_ms > 0) ap_time_format_rfc3339(p->deadline_ms, deadline, sizeof(deadline));
    bool oom = false;
    char *thread = ap_thread_to_json(&p->thread, &oom);
    if (oom) {
        free(media);
        free(variants);
        return ctl_fail("out of memory");
    }
    const char *params[] = {p->text,
                            p->link,
                            media,
                            p->account_id,
                            p->at_now ? NULL : at,
                            ctl_post_priority(p),
                            p->deadline_ms > 0 ? deadline : NULL,
                            variants,
                            thread,
                            p->first_comment};
    /* One statement: the post (in the account's tenant) and its schedule. */
    PGresult *res = ctl_store(ctx, AP_STORE_SCHEDULE_CREATE, params, err, sizeof(err));
    free(media);
    free(variants);
    free(thread);
    if (res == NULL) return ctl_fail("cannot store the schedule: %s", err);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return ctl_fail("account %s not found", p->account_id);
    }
    printf("%s\n", PQgetvalue(res, 0, 0));
    PQclear(res);
    return CTL_EXIT_OK;
}

int ctl_cmd_schedule(ctl_ctx *ctx, int argc, char **argv) {
    schedule_args a = {0};
    ctl_post p;
    ctl_post_init(&p);
    int rc = parse_schedule_args(ctx, argc, argv, &a);
    if (rc < 0) {
        rc = CTL_EXIT_OK; /* --help */
        goto cleanup;
    }
    if (rc != CTL_EXIT_OK) goto cleanup;
    if ((rc = build_post(&a, &p)) != CTL_EXIT_OK) goto cleanup;
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) goto cleanup;
    char reason[512];
    if (!ctl_post_check_at(&p, ap_now_ms(), ctx->cfg.scheduler_max_past_ms, a.allow_past, reason,
                           sizeof(reason))) {
        rc = ctl_fail("%s; use --at now to publish now, or --allow-past", reason);
        goto cleanup;
    }
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) goto cleanup;
    char tenant[37];
    if ((rc = check_account(ctx, &p, tenant)) != CTL_EXIT_OK) goto cleanup;
    rc = p.recur_rrule ? insert_series(ctx, &p, tenant) : insert_schedule(ctx, &p);
cleanup:
    ctl_post_free(&p);
    free(a.media);
    free(a.variants);
    free(a.thread);
    return rc;
}

/* ---- the shared shape of cancel and retry ------------------------------- */

/* Parses "CMD SCHEDULE_ID [--config FILE]". Returns -1 after --help. */
static int parse_id_command(ctl_ctx *ctx, const char *cmd, const char *usage, int argc, char **argv,
                            char id[37]) {
    int rc = ctl_parse_options(ctx, cmd, usage, NULL, argc, argv);
    if (rc == CTL_EXIT_OK) return -1; /* --help */
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (argc - optind != 1) return ctl_usage_error(cmd, "expected one SCHEDULE_ID");
    if (!ap_uuid_normalize(argv[optind], id))
        return ctl_fail("\"%s\" is not a schedule id (a UUID)", argv[optind]);
    return CTL_EXIT_OK;
}

/* Inside a transaction: locks the schedule and reads its state. */
static int lock_schedule(ctl_ctx *ctx, const char *id, ap_store_locked *row) {
    char err[512];
    bool found = false;
    if (ap_store_lock_schedule(ctx->pg.conn, id, row, &found, err, sizeof(err)) != AP_OK)
        return ctl_fail("cannot read schedule %s: %s", id, err);
    if (!found) return ctl_fail("schedule %s not found", id);
    return CTL_EXIT_OK;
}

static bool status_in(const char *status, const char *const *allowed) {
    for (; *allowed; allowed++)
        if (strcmp(status, *allowed) == 0) return true;
    return false;
}

/* ---- cancel ------------------------------------------------------------- */

/* The bus for ap_cancel_schedule, opened only for a queued schedule. */
typedef struct cancel_bus {
    ctl_ctx *ctx;
    ap_nats n;
    bool open;
} cancel_bus;

static jsCtx *cancel_bus_js(void *arg, char *err, size_t errlen) {
    cancel_bus *b = arg;
    if (!b->open && ctl_nats_open(b->ctx, &b->n, CTL_NATS_SHORT_TIMEOUT_MS, err, errlen) != AP_OK)
        return NULL;
    b->open = true;
    return b->n.js;
}

/* What ap_cancel_schedule's outcome means to an operator. */
static int cancel_report(const char *id, const ap_cancel_result *r, const char *err) {
    switch (r->outcome) {
    case AP_CANCEL_DONE:
        printf("cancelled schedule %s (was %s, generation %s)\n", id, r->status, r->generation);
        if (strcmp(r->status, "queued") == 0)
            printf("%s the cancellation in KV %s (key %s): publishers will not post it\n",
                   r->marked_before ? "found" : "recorded", r->bucket, r->key);
        return CTL_EXIT_OK;
    case AP_CANCEL_NOT_FOUND: return ctl_fail("schedule %s not found", id);
    case AP_CANCEL_NOT_CANCELLABLE:
        return ctl_fail("cannot cancel schedule %s: it is %s (only pending or queued schedules "
                        "can be cancelled)",
                        id, r->status);
    case AP_CANCEL_STARTED:
        return ctl_fail("cannot cancel schedule %s: a publisher already holds it (KV %s key %s = "
                        "\"%.100s\"), so it may be live; nothing changed. Its outcome will show "
                        "in `autopostctl show %s`",
                        id, r->bucket, r->key, r->value, id);
    case AP_CANCEL_BUS_DOWN:
    default:
        return ctl_fail("cannot cancel schedule %s: it is queued (already on the bus) and the "
                        "publishers' attempt record cannot be written (%s); nothing changed, "
                        "try again",
                        id, err);
    }
}

int ctl_cmd_cancel(ctl_ctx *ctx, int argc, char **argv) {
    char id[37], err[512] = "";
    int rc = parse_id_command(ctx, "cancel", cancel_usage, argc, argv, id);
    if (rc < 0) return CTL_EXIT_OK;
    if (rc != CTL_EXIT_OK) return rc;
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    cancel_bus bus = {.ctx = ctx};
    ap_cancel_result r;
    if (ap_cancel_schedule(ctx->pg.conn, id, CTL_ACTOR, cancel_bus_js, &bus, &r, err,
                           sizeof(err)) != AP_OK)
        rc = ctl_fail("cannot cancel schedule %s: %s", id, err);
    else
        rc = cancel_report(id, &r, err);
    if (bus.open) ap_nats_close(&bus.n);
    return rc;
}

/* ---- retry -------------------------------------------------------------- */

static int retry_in_db(ctl_ctx *ctx, const char *id, ap_store_locked *row, char *new_gen,
                       size_t gen_len) {
    static const char *const allowed[] = {"failed", "unconfirmed", "cancelled", NULL};
    char err[512];
    int rc;
    if (ctl_begin(ctx, err, sizeof(err)) != AP_OK) return ctl_fail("retry %s: %s", id, err);
    if ((rc = lock_schedule(ctx, id, row)) != CTL_EXIT_OK) goto fail;
    if (!status_in(row->status, allowed)) {
        rc = ctl_fail("cannot retry schedule %s: it is %s (only failed, unconfirmed or "
                      "cancelled schedules can be retried)",
                      id, row->status);
        goto fail;
    }
    char ids[AP_UUID_TEXT_LEN + 3];
    snprintf(ids, sizeof(ids), "{%s}", id);
    const char *params[] = {ids, CTL_ACTOR};
    PGresult *res = ctl_store(ctx, AP_STORE_RETRY, params, err, sizeof(err));
    if (res == NULL || PQntuples(res) != 1) {
        PQclear(res);
        rc = ctl_fail("cannot retry schedule %s: %s", id,
                      res ? "it changed meanwhile, or part of its thread is live already (a "
                            "retry would post that again)"
                          : err);
        goto fail;
    }
    snprintf(new_gen, gen_len, "%s", PQgetvalue(res, 0, AP_STORE_RETRY_COL_GENERATION));
    PQclear(res);
    if (ctl_commit(ctx, err, sizeof(err)) != AP_OK) {
        rc = ctl_fail("cannot retry schedule %s: %s", id, err);
        goto fail;
    }
    return CTL_EXIT_OK;
fail:
    ctl_rollback(ctx);
    return rc;
}

static int retry_one(ctl_ctx *ctx, const char *arg) {
    char id[37], gen[16];
    ap_store_locked row;
    int rc;
    if (!ap_uuid_normalize(arg, id)) return ctl_fail("\"%s\" is not a schedule id (a UUID)", arg);
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    if ((rc = retry_in_db(ctx, id, &row, gen, sizeof(gen))) != CTL_EXIT_OK) return rc;
    if (strcmp(row.status, "unconfirmed") == 0)
        fprintf(stderr,
                "autopostctl: note: schedule %s was unconfirmed; if its earlier attempt "
                "did go live, this retry posts it a second time\n",
                id);
    printf("%s\n", gen);
    return CTL_EXIT_OK;
}

/* What `retry --platform ...` selects. Times are epoch-ms text or NULL:
 * an absolute bound, or a distance back from the database's now(). */
typedef struct retry_filter {
    const char *platform, *reason, *error_class;
    char since_abs[24], since_ago[24], until_abs[24], until_ago[24];
    bool has_since, has_until;
    char statuses[64]; /* PostgreSQL array literal: {failed,unconfirmed} */
    bool dry_run;
} retry_filter;

/* "2026-11-28T09:00:00Z" or "2h" (ago) into one of the two slots. */
static bool retry_time_arg(const char *arg, char *abs_ms, char *ago_ms) {
    int64_t ms;
    if (ap_duration_parse(arg, &ms) == 0) {
        snprintf(ago_ms, 24, "%lld", (long long)ms);
        return true;
    }
    if (ap_time_parse_rfc3339(arg, &ms) == 0) {
        snprintf(abs_ms, 24, "%lld", (long long)ms);
        return true;
    }
    return false;
}

static bool retry_add_status(retry_filter *f, const char *status) {
    static const char *const allowed[] = {"failed", "unconfirmed", "cancelled", NULL};
    if (!status_in(status, allowed)) return false;
    size_t n = strlen(f->statuses);
    /* "{failed" ... "}" is closed when the statement is built. */
    snprintf(f->statuses + n, sizeof(f->statuses) - n, "%s%s", n ? "," : "{", status);
    return true;
}

/* The ids retry_candidates locked, as a uuid[] literal; NULL when memory
 * ran out. */
static char *candidate_ids(const PGresult *res) {
    ap_pg_array ids;
    ap_pg_array_init(&ids);
    for (int i = 0; i < PQntuples(res); i++) ap_pg_array_text(&ids, PQgetvalue(res, i, 0));
    return ap_pg_array_finish(&ids);
}

/* One transaction: the matches are locked (retry_candidates: SKIP LOCKED
 * leaves a row someone is moving right now to them) and every one is
 * retried and recorded, or none is. A dry run counts them and rolls back. */
static int retry_filtered(ctl_ctx *ctx, retry_filter *f) {
    char err[512];
    int rc;
    if (f->statuses[0] == '\0') retry_add_status(f, "failed");
    size_t n = strlen(f->statuses);
    snprintf(f->statuses + n, sizeof(f->statuses) - n, "}");
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
#define OPT(s) ((s)[0] ? (s) : NULL)
    const char *params[] = {f->statuses,       f->platform,       f->reason,
                            f->error_class,    OPT(f->since_abs), OPT(f->since_ago),
                            OPT(f->until_abs), OPT(f->until_ago)};
#undef OPT
    if (ctl_begin(ctx, err, sizeof(err)) != AP_OK) return ctl_fail("retry: %s", err);
    PGresult *res = ctl_store(ctx, AP_STORE_RETRY_CANDIDATES, params, err, sizeof(err));
    if (res == NULL) {
        rc = ctl_fail("cannot select the matching schedules: %s", err);
        goto fail;
    }
    if (f->dry_run) {
        printf("would retry %d schedule(s)\n", PQntuples(res));
        PQclear(res);
        ctl_rollback(ctx);
        return CTL_EXIT_OK;
    }
    char *ids = candidate_ids(res);
    PQclear(res);
    if (ids == NULL) {
        rc = ctl_fail("out of memory");
        goto fail;
    }
    const char *retry_params[] = {ids, CTL_ACTOR};
    res = ctl_store(ctx, AP_STORE_RETRY, retry_params, err, sizeof(err));
    free(ids);
    if (res == NULL || ctl_commit(ctx, err, sizeof(err)) != AP_OK) {
        PQclear(res);
        rc = ctl_fail("cannot retry the matching schedules: %s", err);
        goto fail;
    }
    int unconfirmed = 0;
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, AP_STORE_RETRY_COL_OLD_STATUS), "unconfirmed") == 0)
            unconfirmed++;
    printf("re-queued %d schedule(s)\n", PQntuples(res));
    if (unconfirmed)
        fprintf(stderr,
                "autopostctl: note: %d of them were unconfirmed; any that did go live will be "
                "posted a second time\n",
                unconfirmed);
    PQclear(res);
    return CTL_EXIT_OK;
fail:
    ctl_rollback(ctx);
    return rc;
}

static bool take_since(char *value, void *target) {
    retry_filter *f = target;
    return retry_time_arg(value, f->since_abs, f->since_ago);
}

static bool take_until(char *value, void *target) {
    retry_filter *f = target;
    return retry_time_arg(value, f->until_abs, f->until_ago);
}

static bool take_status(char *value, void *target) { return retry_add_status(target, value); }

int ctl_cmd_retry(ctl_ctx *ctx, int argc, char **argv) {
    retry_filter f;
    memset(&f, 0, sizeof(f));
    bool filtered = false;
    const ctl_opt opts[] = {{.name = "platform", .string = &f.platform, .seen = &filtered},
                            {.name = "reason", .string = &f.reason, .seen = &filtered},
                            {.name = "error-class", .string = &f.error_class, .seen = &filtered},
                            {.name = "since",
                             .take = take_since,
                             .target = &f,
                             .seen = &filtered,
                             .invalid = "--since: \"%s\" is neither RFC 3339 nor a duration"},
                            {.name = "until",
                             .take = take_until,
                             .target = &f,
                             .seen = &filtered,
                             .invalid = "--until: \"%s\" is neither RFC 3339 nor a duration"},
                            {.name = "status",
                             .take = take_status,
                             .target = &f,
                             .invalid = "--status must be failed, unconfirmed or cancelled"},
                            {.name = "dry-run", .flag = &f.dry_run},
                            {0}};
    int rc = ctl_parse_options(ctx, "retry", retry_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    int nargs = argc - optind;
    if (nargs == 1 && !filtered && !f.dry_run && f.statuses[0] == '\0')
        return retry_one(ctx, argv[optind]);
    if (nargs > 0 && (filtered || f.dry_run || f.statuses[0]))
        return ctl_usage_error("retry", "give one SCHEDULE_ID or filters, not both");
    if (nargs > 1) return ctl_usage_error("retry", "expected one SCHEDULE_ID");
    if (!filtered)
        return ctl_usage_error("retry", "expected a SCHEDULE_ID or at least one filter "
                                        "(--platform, --reason, --error-class, --since, --until)");
    return retry_filtered(ctx, &f);
}
