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
 * A queued schedule is already on the bus. Cancelling it in PostgreSQL
 * alone would not stop a publisher that fetches it a second later, so
 * cancel also writes "cancelled" into the publishers' attempt record in the
 * KV bucket with kvStore_Create: a compare-and-set, so either we get there
 * first and the publisher skips the job, or a publisher already claimed it
 * and we say so instead of pretending. The bus step is best effort and comes
 * after COMMIT: writing it first could block a schedule that the database
 * refuses to cancel. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_time.h"
#include "ctl.h"
#include "ctl_post.h"

static const char schedule_usage[] =
    "usage: autopostctl schedule --account ACCOUNT_ID --at RFC3339|now --text TEXT\n"
    "                            [--link URL] [--media URL]... [--media-type image|video]\n\n"
    "Schedules one post and prints the new schedule id. Checked before anything is\n"
    "stored: the account exists and is active, the time parses, the post has\n"
    "content, URLs are http(s), and the platform's own rules (length, media).\n"
    "--media may repeat; --media-type applies to every --media (default image).\n"
    "Takes --config FILE.\n";

static const char cancel_usage[] =
    "usage: autopostctl cancel SCHEDULE_ID [--config FILE]\n\n"
    "Cancels a pending or queued schedule. For a queued one (already handed to\n"
    "the publishers) it also records the cancellation in the JetStream KV bucket\n"
    "" AP_KV_ATTEMPTS " so a publisher that has not started will not post it.\n";

static const char retry_usage[] =
    "usage: autopostctl retry SCHEDULE_ID [--config FILE]\n\n"
    "Sends a failed, unconfirmed or cancelled schedule again, now (or at its time\n"
    "if that is still ahead): new generation, attempts reset, errors cleared.\n"
    "Prints the new generation. An unconfirmed post may already be live: check\n"
    "the platform first.\n";

/* ---- schedule ----------------------------------------------------------- */

typedef struct schedule_args {
    const char *account, *at, *text, *link, *media_type;
    const char **media;
    size_t nmedia;
} schedule_args;

static int parse_schedule_args(ctl_ctx *ctx, int argc, char **argv, schedule_args *a) {
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"account", required_argument, NULL, 'a'},
                                         {"at", required_argument, NULL, 't'},
                                         {"text", required_argument, NULL, 'x'},
                                         {"link", required_argument, NULL, 'l'},
                                         {"media", required_argument, NULL, 'm'},
                                         {"media-type", required_argument, NULL, 'T'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx->config_path = optarg; break;
        case 'h': fputs(schedule_usage, stdout); return -1;
        case 'a': a->account = optarg; break;
        case 't': a->at = optarg; break;
        case 'x': a->text = optarg; break;
        case 'l': a->link = optarg; break;
        case 'T': a->media_type = optarg; break;
        case 'm': {
            const char **m = realloc(a->media, (a->nmedia + 1) * sizeof(*m));
            if (m == NULL) return ctl_fail("out of memory");
            a->media = m;
            a->media[a->nmedia++] = optarg;
            break;
        }
        default: return ctl_bad_option("schedule", c, argv);
        }
    }
    if (optind < argc)
        return ctl_usage_error("schedule", "unexpected argument \"%s\"", argv[optind]);
    if (a->account == NULL) return ctl_usage_error("schedule", "--account is required");
    if (a->at == NULL) return ctl_usage_error("schedule", "--at is required (RFC 3339 or now)");
    return CTL_EXIT_OK;
}

/* Fills the post from the arguments and runs the checks that need no
 * database. */
static int build_post(const schedule_args *a, ctl_post *p) {
    char reason[512];
    if (!ctl_uuid_text(a->account, p->account_id))
        return ctl_fail("--account: \"%s\" is not an account id (a UUID)", a->account);
    if (!ctl_post_set_at(p, a->at, reason, sizeof(reason))) return ctl_fail("%s", reason);
    if (a->media_type && strcmp(a->media_type, "image") != 0 && strcmp(a->media_type, "video") != 0)
        return ctl_fail("--media-type must be image or video, not \"%s\"", a->media_type);
    p->text = strdup(a->text ? a->text : "");
    if (p->text == NULL) return ctl_fail("out of memory");
    if (a->link && (p->link = strdup(a->link)) == NULL) return ctl_fail("out of memory");
    for (size_t i = 0; i < a->nmedia; i++)
        if (!ctl_post_add_media(p, a->media[i], a->media_type, NULL, reason, sizeof(reason)))
            return ctl_fail("%s", reason);
    if (!ctl_post_check(p, reason, sizeof(reason))) return ctl_fail("%s", reason);
    return CTL_EXIT_OK;
}

/* The account must exist and take posts; then the platform's rules. */
static int check_account(ctl_ctx *ctx, const ctl_post *p) {
    char err[512], reason[600];
    const char *params[] = {p->account_id};
    PGresult *res = ctl_exec(ctx,
                             "SELECT platform, external_id, status, status_reason "
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
    PQclear(res);
    return rc;
}

static int insert_schedule(ctl_ctx *ctx, const ctl_post *p) {
    char err[512], at[32];
    char *media = ctl_post_media_json(p);
    if (media == NULL) return ctl_fail("out of memory");
    if (!p->at_now) ap_time_format_rfc3339(p->at_ms, at, sizeof(at));
    const char *params[] = {p->text, p->link, media, p->account_id, p->at_now ? NULL : at};
    /* One statement, so the post and its schedule commit together; "now"
     * is the database's clock, the one the scheduler compares against. */
    PGresult *res =
        ctl_exec(ctx,
                 "WITH p AS (INSERT INTO posts (text, link, media) VALUES ($1, $2, $3::jsonb) "
                 "RETURNING id) "
                 "INSERT INTO post_schedules (post_id, account_id, scheduled_at) "
                 "SELECT p.id, $4, coalesce($5::timestamptz, now()) FROM p RETURNING id",
                 5, params, PGRES_TUPLES_OK, err, sizeof(err));
    free(media);
    if (res == NULL) return ctl_fail("cannot store the schedule: %s", err);
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
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) goto cleanup;
    if ((rc = check_account(ctx, &p)) != CTL_EXIT_OK) goto cleanup;
    rc = insert_schedule(ctx, &p);
cleanup:
    ctl_post_free(&p);
    free(a.media);
    return rc;
}

/* ---- the shared shape of cancel and retry ------------------------------- */

/* Parses "CMD SCHEDULE_ID [--config FILE]". Returns -1 after --help. */
static int parse_id_command(ctl_ctx *ctx, const char *cmd, const char *usage, int argc, char **argv,
                            char id[37]) {
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ctx->config_path = optarg; break;
        case 'h': fputs(usage, stdout); return -1;
        default: return ctl_bad_option(cmd, c, argv);
        }
    }
    if (argc - optind != 1) return ctl_usage_error(cmd, "expected one SCHEDULE_ID");
    if (!ctl_uuid_text(argv[optind], id))
        return ctl_fail("\"%s\" is not a schedule id (a UUID)", argv[optind]);
    return CTL_EXIT_OK;
}

typedef struct locked_row {
    char status[16];
    char generation[16];
    char attempts[16];
} locked_row;

/* Inside a transaction: locks the schedule and reads its state. */
static int lock_schedule(ctl_ctx *ctx, const char *id, locked_row *row) {
    char err[512];
    const char *params[] = {id};
    PGresult *res = ctl_exec(ctx,
                             "SELECT status, generation, attempts FROM post_schedules "
                             "WHERE id = $1 FOR UPDATE",
                             1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return ctl_fail("cannot read schedule %s: %s", id, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return ctl_fail("schedule %s not found", id);
    }
    snprintf(row->status, sizeof(row->status), "%s", PQgetvalue(res, 0, 0));
    snprintf(row->generation, sizeof(row->generation), "%s", PQgetvalue(res, 0, 1));
    snprintf(row->attempts, sizeof(row->attempts), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    return CTL_EXIT_OK;
}

static bool status_in(const char *status, const char *const *allowed) {
    for (; *allowed; allowed++)
        if (strcmp(status, *allowed) == 0) return true;
    return false;
}

/* ---- cancel ------------------------------------------------------------- */

static int cancel_in_db(ctl_ctx *ctx, const char *id, locked_row *row) {
    static const char *const allowed[] = {"pending", "queued", NULL};
    char err[512];
    int rc;
    if (ctl_begin(ctx, err, sizeof(err)) != AP_OK) return ctl_fail("cancel %s: %s", id, err);
    if ((rc = lock_schedule(ctx, id, row)) != CTL_EXIT_OK) goto fail;
    if (!status_in(row->status, allowed)) {
        rc = ctl_fail("cannot cancel schedule %s: it is %s (only pending or queued schedules "
                      "can be cancelled)",
                      id, row->status);
        goto fail;
    }
    const char *params[] = {id, row->generation, row->attempts};
    PGresult *res = ctl_exec(ctx,
                             "UPDATE post_schedules SET status = 'cancelled', "
                             "error_message = 'cancelled by operator', updated_at = now() "
                             "WHERE id = $1 AND status IN ('pending', 'queued')",
                             1, params, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL || strcmp(PQcmdTuples(res), "1") != 0) {
        PQclear(res);
        rc = ctl_fail("cannot cancel schedule %s: %s", id, res ? "row changed" : err);
        goto fail;
    }
    PQclear(res);
    res = ctl_exec(ctx,
                   "INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, "
                   "error_message, actor, finished_at) "
                   "VALUES ($1, $2, $3, 'cancelled', 'cancelled by operator', 'autopostctl', "
                   "now()) ON CONFLICT DO NOTHING",
                   3, params, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL) {
        rc = ctl_fail("cannot record the cancellation of %s: %s", id, err);
        goto fail;
    }
    PQclear(res);
    if (ctl_commit(ctx, err, sizeof(err)) != AP_OK) {
        rc = ctl_fail("cannot cancel schedule %s: %s", id, err);
        goto fail;
    }
    return CTL_EXIT_OK;
fail:
    ctl_rollback(ctx);
    return rc;
}

/* Best effort: tell the publishers through their attempt record. Prints
 * what happened; never changes the exit code (the cancel is committed). */
static void cancel_on_bus(ctl_ctx *ctx, const char *id, const char *generation) {
    char err[512], key[96];
    snprintf(key, sizeof(key), "%s-%s", id, generation);
    ap_nats n;
    if (ctl_nats_open(ctx, &n, CTL_NATS_SHORT_TIMEOUT_MS, err, sizeof(err)) != AP_OK) {
        fprintf(stderr,
                "autopostctl: warning: could not tell the publishers (%s); the job is already "
                "on the bus and may still be posted\n",
                err);
        return;
    }
    kvStore *kv = NULL;
    natsStatus s = js_KeyValue(&kv, n.js, AP_KV_ATTEMPTS);
    if (s != NATS_OK) {
        ap_nats_error(err, sizeof(err), "key-value bucket " AP_KV_ATTEMPTS, s, 0);
        fprintf(stderr, "autopostctl: warning: could not tell the publishers (%s)\n", err);
        goto cleanup;
    }
    uint64_t rev = 0;
    s = kvStore_Create(&rev, kv, key, "cancelled", 9);
    if (s == NATS_OK) {
        printf("recorded the cancellation in KV %s (key %s): publishers will not post it\n",
               AP_KV_ATTEMPTS, key);
        goto cleanup;
    }
    /* Create lost: someone wrote the record first. Show what it says. */
    kvEntry *e = NULL;
    if (kvStore_Get(&e, kv, key) == NATS_OK) {
        char value[128];
        int len = kvEntry_ValueLen(e);
        snprintf(value, sizeof(value), "%.*s", len > 100 ? 100 : len, kvEntry_ValueString(e));
        if (strcmp(value, "cancelled") == 0)
            printf("the cancellation was already recorded in KV %s (key %s)\n", AP_KV_ATTEMPTS,
                   key);
        else
            fprintf(stderr,
                    "autopostctl: warning: a publisher already holds this job (KV %s key %s = "
                    "\"%s\"): it may be posting it now; check with `autopostctl show %s`\n",
                    AP_KV_ATTEMPTS, key, value, id);
        kvEntry_Destroy(e);
    } else {
        ap_nats_error(err, sizeof(err), "kv create", s, 0);
        fprintf(stderr, "autopostctl: warning: could not record the cancellation in KV %s: %s\n",
                AP_KV_ATTEMPTS, err);
    }
cleanup:
    kvStore_Destroy(kv);
    ap_nats_close(&n);
}

int ctl_cmd_cancel(ctl_ctx *ctx, int argc, char **argv) {
    char id[37];
    locked_row row;
    int rc = parse_id_command(ctx, "cancel", cancel_usage, argc, argv, id);
    if (rc < 0) return CTL_EXIT_OK;
    if (rc != CTL_EXIT_OK) return rc;
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) return rc;
    if ((rc = cancel_in_db(ctx, id, &row)) != CTL_EXIT_OK) return rc;
    printf("cancelled schedule %s (was %s, generation %s)\n", id, row.status, row.generation);
    if (strcmp(row.status, "queued") == 0) {
        fflush(stdout); /* keep the report in order if the bus step warns */
        cancel_on_bus(ctx, id, row.generation);
    }
    return CTL_EXIT_OK;
}

/* ---- retry -------------------------------------------------------------- */

static int retry_in_db(ctl_ctx *ctx, const char *id, locked_row *row, char *new_gen,
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
    const char *params[] = {id};
    /* A new generation gives the job a new Nats-Msg-Id and KV key: the old
     * attempt's dedup entry and record must not swallow this one. */
    PGresult *res = ctl_exec(ctx,
                             "UPDATE post_schedules SET status = 'pending', "
                             "generation = generation + 1, attempts = 0, "
                             "error_class = NULL, error_code = NULL, error_message = NULL, "
                             "external_post_id = NULL, external_url = NULL, "
                             "queued_at = NULL, published_at = NULL, "
                             "scheduled_at = least(scheduled_at, now()), updated_at = now() "
                             "WHERE id = $1 AND status IN ('failed', 'unconfirmed', 'cancelled') "
                             "RETURNING generation",
                             1, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL || PQntuples(res) != 1) {
        PQclear(res);
        rc = ctl_fail("cannot retry schedule %s: %s", id, res ? "row changed" : err);
        goto fail;
    }
    snprintf(new_gen, gen_len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *aparams[] = {id, new_gen};
    res = ctl_exec(ctx,
                   "INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, "
                   "actor, finished_at) VALUES ($1, $2, 0, 'retry_requested', 'autopostctl', "
                   "now())",
                   2, aparams, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL) {
        rc = ctl_fail("cannot record the retry of %s: %s", id, err);
        goto fail;
    }
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

int ctl_cmd_retry(ctl_ctx *ctx, int argc, char **argv) {
    char id[37], gen[16];
    locked_row row;
    int rc = parse_id_command(ctx, "retry", retry_usage, argc, argv, id);
    if (rc < 0) return CTL_EXIT_OK;
    if (rc != CTL_EXIT_OK) return rc;
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
