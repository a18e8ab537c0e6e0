/* ctl_import.c -- `import FILE`: many schedules from JSON Lines, all or
 * nothing.
 *
 * Three passes, so that a file with a mistake on line 70,000 is reported in
 * full and leaves no trace:
 *   1. parse and check every line on its own (ctl_post_from_json, and the
 *      past-time rule ctl_post_check_at);
 *   2. look up every referenced account in ONE query (id = ANY($1::uuid[]))
 *      and run the account and platform checks per line;
 *   3. only if no line failed: one transaction with two COPYs, into posts
 *      and then post_schedules.
 * Per-row INSERTs would cost a round trip each (100,000 rows: minutes);
 * COPY streams the rows and the server inserts them in batches. The ids are
 * drawn here so a post and its schedule line up without reading anything
 * back, and --ids can print the schedule ids in the file's order.
 *
 * A line with "recurrence" instead of "at" is a recurring post: checked by
 * the API's rules (ctl_recurrence_check, api.min_recurrence_interval) in
 * pass 1 and stored in pass 3's transaction by the store's series_create,
 * as the API stores it (no schedule rows: the scheduler makes them). */
#include <errno.h>
#include <getopt.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_time.h"
#include "ctl.h"
#include "ctl_post.h"

static const char import_usage[] =
    "usage: autopostctl import FILE|- [--ids] [--allow-past] [--config FILE]\n\n"
    "Schedules posts from JSON Lines (one object per line; blank lines skipped):\n"
    "  {\"account_id\": \"UUID\", \"at\": \"2026-11-28T09:00:00Z\", \"text\": \"...\",\n"
    "   \"link\": \"https://...\", \"media\": [{\"url\": \"https://...\", \"type\": \"image\",\n"
    "   \"alt_text\": \"...\"}], \"priority\": \"normal|urgent\",\n"
    "   \"format\": \"feed|story|reel\",\n"
    "   \"variants\": {\"x\": {\"text\": \"...\"}, \"UUID\": {\"media\": [...]}},\n"
    "   \"deadline\": \"2026-11-28T10:00:00Z\",\n"
    "   \"thread\": [{\"text\": \"...\", \"media\": [...]}], \"first_comment\": \"...\"}\n"
    "or, instead of \"at\", a recurring post (as the API takes it):\n"
    "  \"recurrence\": {\"rrule\": \"FREQ=WEEKLY;BYDAY=MO\", \"tz\": \"Europe/Paris\",\n"
    "                 \"start\": \"2026-12-07T09:00:00\"}\n"
    "\"at\" is an RFC 3339 time or \"now\"; the optional \"deadline\" (not before\n"
    "\"at\") makes a post that cannot start by then end expired. A time more than\n"
    "scheduler.max_past (default 5m) ago is refused: it would be published at\n"
    "once, and is more likely a date or time-zone bug. --allow-past accepts such\n"
    "times for the whole file. \"priority\" is optional (normal; urgent: README \"Urgent lane\").\n"
    "\"format\" is optional (feed; story and reel where the platform has them:\n"
    "README \"Formats\").\n"
    "\"variants\" is optional: another text and/or media for the accounts of a\n"
    "platform or for the line's account (its id wins; README \"Variants\").\n"
    "\"thread\" (X and Threads: the parts after the text, each a reply to the one\n"
    "before) and \"first_comment\" are optional (README \"Threads and first comments\").\n"
    "Every line is checked like `schedule` does. If any line is bad, each one is\n"
    "reported as FILE:LINE: reason and nothing is imported. Otherwise all lines\n"
    "are imported in one transaction and `imported N schedules` is printed\n"
    "(`... and M recurring posts` when there are some; with --ids: the new\n"
    "schedule ids, or a recurring post's post id, one per line, in the file's\n"
    "order).\n";

#define IMPORT_MAX_LINE (1024 * 1024)
#define IMPORT_COPY_CHUNK (1024 * 1024)

typedef struct import_row {
    long line;
    ctl_post post;
    char post_id[37], schedule_id[37]; /* drawn before COPY */
    char tenant_id[37];                /* the account's: the post belongs to it too */
    bool bad;
    char *error; /* why it is bad (NULL if even that allocation failed) */
} import_row;

typedef struct import_set {
    const char *label; /* file name for messages */
    /* The past-time rule (ctl_post_check_at): one clock reading for the
     * whole file, so its lines are judged alike. */
    int64_t now_ms, max_past_ms;
    bool allow_past;
    int64_t min_recur_ms; /* api.min_recurrence_interval */
    import_row *rows;
    size_t n, cap, nbad;
} import_set;

typedef struct account_info {
    char id[37], tenant_id[37];
    char *platform, *external_id, *status, *status_reason;
} account_info;

static void import_set_free(import_set *s) {
    for (size_t i = 0; i < s->n; i++) {
        ctl_post_free(&s->rows[i].post);
        free(s->rows[i].error);
    }
    free(s->rows);
}

static void row_fail(import_set *s, import_row *r, const char *reason) {
    if (r->bad) return; /* the first reason is the one to fix first */
    r->bad = true;
    r->error = strdup(reason);
    s->nbad++;
}

static import_row *row_add(import_set *s, long line) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        import_row *rows = realloc(s->rows, cap * sizeof(*rows));
        if (rows == NULL) return NULL;
        s->rows = rows;
        s->cap = cap;
    }
    import_row *r = &s->rows[s->n++];
    memset(r, 0, sizeof(*r));
    r->line = line;
    ctl_post_init(&r->post);
    return r;
}

static bool is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
    return true;
}

/* A recurring line: the rules that need the config and the clock. */
static void check_recurrence(import_set *s, import_row *r) {
    const char *field = NULL;
    char why[200], reason[300];
    if (ctl_recurrence_check(r->post.recur_rrule, r->post.recur_tz, r->post.recur_start,
                             s->min_recur_ms, s->now_ms, &field, why, sizeof(why)))
        return;
    snprintf(reason, sizeof(reason), "recurrence%s%s: %s", field ? "." : "", field ? field : "",
             why);
    row_fail(s, r, reason);
}

/* Pass 1. Returns CTL_EXIT_OK unless the file cannot be read at all. */
static int parse_file(FILE *f, import_set *s) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = CTL_EXIT_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (is_blank(line, (size_t)len)) continue;
        import_row *r = row_add(s, lineno);
        if (r == NULL) {
            rc = ctl_fail("out of memory at %s:%ld", s->label, lineno);
            goto cleanup;
        }
        char reason[512];
        if (len > IMPORT_MAX_LINE)
            row_fail(s, r, "line longer than 1 MiB");
        else if (!ctl_post_from_json(&r->post, line, (size_t)len, reason, sizeof(reason)))
            row_fail(s, r, reason);
        else if (!ctl_post_check_at(&r->post, s->now_ms, s->max_past_ms, s->allow_past, reason,
                                    sizeof(reason))) {
            char why[640];
            int n = snprintf(why, sizeof(why),
                             "%s; write \"at\": \"now\" to publish now, or "
                             "import with --allow-past",
                             reason);
            row_fail(s, r, n >= 0 && (size_t)n < sizeof(why) ? why : reason);
        } else if (r->post.recur_rrule)
            check_recurrence(s, r);
    }
    if (ferror(f)) rc = ctl_fail("%s: read error: %s", s->label, strerror(errno));
cleanup:
    free(line);
    return rc;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_account(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const account_info *)elem)->id);
}

/* "{id1,id2,...}" for $1::uuid[]: the ids are checked UUIDs, so no quoting. */
static char *account_array_literal(const import_set *s) {
    const char **ids = malloc((s->n + 1) * sizeof(*ids));
    if (ids == NULL) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!s->rows[i].bad) ids[n++] = s->rows[i].post.account_id;
    qsort(ids, n, sizeof(*ids), cmp_str_ptr);
    ap_buf b = {0};
    bool ok = ap_buf_append(&b, "{", 1);
    for (size_t i = 0; ok && i < n; i++) {
        if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0) continue;
        if (b.len > 1) ok = ap_buf_append(&b, ",", 1);
        ok = ok && ap_buf_append(&b, ids[i], strlen(ids[i]));
    }
    ok = ok && ap_buf_append(&b, "}", 1);
    free(ids);
    if (!ok) ap_buf_free(&b);
    return b.data;
}

static void accounts_free(account_info *a, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(a[i].platform);
        free(a[i].external_id);
        free(a[i].status);
        free(a[i].status_reason);
    }
    free(a);
}

/* One query for every account the file names; sorted by id for bsearch. */
static int load_accounts(ctl_ctx *ctx, const import_set *s, account_info **out, size_t *nout) {
    char err[512];
    char *ids = account_array_literal(s);
    if (ids == NULL) return ctl_fail("out of memory");
    const char *params[] = {ids};
    PGresult *res = ctl_exec(ctx,
                             "SELECT id, platform, external_id, status, "
                             "coalesce(status_reason, ''), tenant_id FROM social_accounts "
                             "WHERE id = ANY($1::uuid[]) ORDER BY id::text",
                             1, params, PGRES_TUPLES_OK, err, sizeof(err));
    free(ids);
    if (res == NULL) return ctl_fail("cannot look up accounts: %s", err);
    size_t n = (size_t)PQntuples(res);
    account_info *a = calloc(n + 1, sizeof(*a));
    if (a == NULL) {
        PQclear(res);
        return ctl_fail("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(a[i].id, sizeof(a[i].id), "%s", PQgetvalue(res, (int)i, 0));
        a[i].platform = strdup(PQgetvalue(res, (int)i, 1));
        a[i].external_id = strdup(PQgetvalue(res, (int)i, 2));
        a[i].status = strdup(PQgetvalue(res, (int)i, 3));
        a[i].status_reason = strdup(PQgetvalue(res, (int)i, 4));
        snprintf(a[i].tenant_id, sizeof(a[i].tenant_id), "%s", PQgetvalue(res, (int)i, 5));
        if (!a[i].platform || !a[i].external_id || !a[i].status || !a[i].status_reason) {
            PQclear(res);
            accounts_free(a, i + 1);
            return ctl_fail("out of memory");
        }
    }
    PQclear(res);
    *out = a;
    *nout = n;
    return CTL_EXIT_OK;
}

/* Pass 2. */
static int check_rows(ctl_ctx *ctx, import_set *s) {
    account_info *accounts = NULL;
    size_t naccounts = 0;
    int rc = load_accounts(ctx, s, &accounts, &naccounts);
    if (rc != CTL_EXIT_OK) return rc;
    for (size_t i = 0; i < s->n; i++) {
        import_row *r = &s->rows[i];
        if (r->bad) continue;
        char reason[600];
        const account_info *a =
            bsearch(r->post.account_id, accounts, naccounts, sizeof(*accounts), cmp_account);
        if (a == NULL) {
            snprintf(reason, sizeof(reason), "account %s not found", r->post.account_id);
            row_fail(s, r, reason);
        } else if (!ctl_account_usable(a->id, a->status, a->status_reason, reason,
                                       sizeof(reason)) ||
                   !ctl_post_validate_platform(&r->post, a->platform, a->external_id, reason,
                                               sizeof(reason))) {
            row_fail(s, r, reason);
        } else {
            memcpy(r->tenant_id, a->tenant_id, sizeof(r->tenant_id));
        }
    }
    accounts_free(accounts, naccounts);
    return CTL_EXIT_OK;
}

static void report_errors(const import_set *s) {
    for (size_t i = 0; i < s->n; i++)
        if (s->rows[i].bad)
            fprintf(stderr, "%s:%ld: %s\n", s->label, s->rows[i].line,
                    s->rows[i].error ? s->rows[i].error : "out of memory");
}

/* ---- pass 3: two COPYs in one transaction ------------------------------ */

/* Appends one row of a table's COPY data. */
typedef bool (*copy_row_fn)(ap_buf *b, const import_row *r, const char *now_text);

static bool copy_post(ap_buf *b, const import_row *r, const char *now_text) {
    if (r->post.recur_rrule) return true; /* insert_series */
    char *media = ctl_post_media_json(&r->post), *variants = NULL;
    bool oom = false;
    char *thread = ap_thread_to_json(&r->post.thread, &oom);
    bool ok = media && !oom && ctl_post_variants_json(&r->post, &variants) &&
              ctl_copy_field(b, r->post_id, '\t') && ctl_copy_field(b, r->tenant_id, '\t') &&
              ctl_copy_field(b, r->post.text, '\t') && ctl_copy_field(b, r->post.link, '\t') &&
              ctl_copy_field(b, media, '\t') && ctl_copy_field(b, variants, '\t') &&
              ctl_copy_field(b, thread, '\t') && ctl_copy_field(b, r->post.first_comment, '\n');
    free(media);
    free(variants);
    free(thread);
    return ok;
}

static bool copy_schedule(ap_buf *b, const import_row *r, const char *now_text) {
    if (r->post.recur_rrule) return true; /* no schedule rows: the scheduler makes them */
    char at[32], deadline[32];
    if (!r->post.at_now) ap_time_format_rfc3339(r->post.at_ms, at, sizeof(at));
    if (r->post.deadline_ms > 0)
        ap_time_format_rfc3339(r->post.deadline_ms, deadline, sizeof(deadline));
    return ctl_copy_field(b, r->schedule_id, '\t') && ctl_copy_field(b, r->post_id, '\t') &&
           ctl_copy_field(b, r->post.account_id, '\t') &&
           ctl_copy_field(b, r->post.at_now ? now_text : at, '\t') &&
           ctl_copy_field(b, ctl_post_priority(&r->post), '\t') &&
           ctl_copy_field(b, r->post.deadline_ms > 0 ? deadline : NULL, '\n');
}

/* Streams every row through COPY in chunks of about IMPORT_COPY_CHUNK. */
static int copy_table(ctl_ctx *ctx, const char *sql, const import_set *s, copy_row_fn row,
                      const char *now_text) {
    char err[512];
    PGresult *res = ctl_exec(ctx, sql, 0, NULL, PGRES_COPY_IN, err, sizeof(err));
    if (res == NULL) return ctl_fail("import: cannot start COPY: %s", err);
    PQclear(res);
    ap_buf b = {0};
    const char *abort_msg = NULL;
    for (size_t i = 0; i < s->n && !abort_msg; i++) {
        if (!row(&b, &s->rows[i], now_text)) abort_msg = "out of memory";
        if (!abort_msg && (b.len >= IMPORT_COPY_CHUNK || i + 1 == s->n)) {
            if (PQputCopyData(ctx->pg.conn, b.data, (int)b.len) != 1)
                abort_msg = "connection lost during COPY";
            b.len = 0;
        }
    }
    ap_buf_free(&b);
    if (PQputCopyEnd(ctx->pg.conn, abort_msg) != 1 && abort_msg == NULL)
        abort_msg = "connection lost during COPY";
    int rc = CTL_EXIT_OK;
    while ((res = PQgetResult(ctx->pg.conn)) != NULL) {
        if (rc == CTL_EXIT_OK && ap_pg_result_ok(res, PGRES_COMMAND_OK, err, sizeof(err)) != AP_OK)
            rc = ctl_fail("import: COPY failed: %s", abort_msg ? abort_msg : err);
        PQclear(res);
    }
    if (rc == CTL_EXIT_OK && abort_msg) rc = ctl_fail("import: COPY failed: %s", abort_msg);
    return rc;
}

/* The recurring lines, in the import's transaction; each row's post_id
 * becomes its post's. Counts them into *n. */
static int insert_series(ctl_ctx *ctx, import_set *s, size_t *n) {
    char err[512], accounts[40];
    *n = 0;
    for (size_t i = 0; i < s->n; i++) {
        import_row *r = &s->rows[i];
        if (r->post.recur_rrule == NULL) continue;
        char *media = ctl_post_media_json(&r->post), *variants = NULL;
        if (media == NULL || !ctl_post_variants_json(&r->post, &variants)) {
            free(media);
            return ctl_fail("import: out of memory");
        }
        snprintf(accounts, sizeof(accounts), "{%s}", r->post.account_id);
        const char *params[] = {
            r->tenant_id,     r->post.text,        r->post.link, media,   r->post.recur_rrule,
            r->post.recur_tz, r->post.recur_start, accounts,     variants};
        PGresult *res = ctl_store(ctx, AP_STORE_SERIES_CREATE, params, err, sizeof(err));
        free(media);
        free(variants);
        if (res == NULL) return ctl_fail("import: %s:%ld: %s", s->label, r->line, err);
        snprintf(r->post_id, sizeof(r->post_id), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        (*n)++;
    }
    return CTL_EXIT_OK;
}

static int insert_all(ctl_ctx *ctx, import_set *s, bool ids) {
    char err[512], now_text[64];
    int rc;
    /* Time-ordered ids (see ap_uuid_v7): about a third less server time
     * for a large import than random ones. The counter starts at a random
     * point so two imports in the same millisecond do not share prefixes. */
    int64_t now_ms = ap_now_ms();
    uint32_t counter = 0;
    if (RAND_bytes((unsigned char *)&counter, sizeof(counter)) != 1)
        return ctl_fail("import: cannot draw random ids");
    counter &= 0x7FFFFFFF; /* room for 2^31 rows without wrapping */
    for (size_t i = 0; i < s->n; i++, counter++)
        if (!ap_uuid_v7(s->rows[i].post_id, now_ms, counter) ||
            !ap_uuid_v7(s->rows[i].schedule_id, now_ms, counter))
            return ctl_fail("import: cannot draw random ids");
    if (ctl_begin(ctx, err, sizeof(err)) != AP_OK) return ctl_fail("import: %s", err);
    /* "now" rows get the transaction's now(), exactly what a DEFAULT or an
     * INSERT ... now() would have stored; as text it round-trips through
     * COPY in this same session. */
    PGresult *res = ctl_exec(ctx, "SELECT now()::text", 0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) {
        rc = ctl_fail("import: %s", err);
        goto fail;
    }
    snprintf(now_text, sizeof(now_text), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    /* Posts first: the schedules' foreign key is checked row by row. */
    if ((rc = copy_table(ctx,
                         "COPY posts (id, tenant_id, text, link, media, variants, thread, "
                         "first_comment) FROM STDIN",
                         s, copy_post, now_text)) != CTL_EXIT_OK)
        goto fail;
    if ((rc = copy_table(ctx,
                         "COPY post_schedules (id, post_id, account_id, scheduled_at, priority, "
                         "deadline) "
                         "FROM STDIN",
                         s, copy_schedule, now_text)) != CTL_EXIT_OK)
        goto fail;
    size_t nseries = 0;
    if ((rc = insert_series(ctx, s, &nseries)) != CTL_EXIT_OK) goto fail;
    if (ctl_commit(ctx, err, sizeof(err)) != AP_OK) {
        rc = ctl_fail("import: commit failed, nothing imported: %s", err);
        goto fail;
    }
    if (ids)
        for (size_t i = 0; i < s->n; i++)
            printf("%s\n",
                   s->rows[i].post.recur_rrule ? s->rows[i].post_id : s->rows[i].schedule_id);
    else if (nseries == 0)
        printf("imported %zu schedules\n", s->n);
    else
        printf("imported %zu schedules and %zu recurring posts\n", s->n - nseries, nseries);
    return CTL_EXIT_OK;
fail:
    ctl_rollback(ctx);
    return rc;
}

int ctl_cmd_import(ctl_ctx *ctx, int argc, char **argv) {
    bool ids = false, allow_past = false;
    const ctl_opt opts[] = {
        {.name = "ids", .flag = &ids}, {.name = "allow-past", .flag = &allow_past}, {0}};
    int rc = ctl_parse_options(ctx, "import", import_usage, opts, argc, argv);
    if (rc != CTL_OPTS_CONTINUE) return rc;
    if (argc - optind != 1) return ctl_usage_error("import", "expected one FILE (or - for stdin)");
    const char *path = argv[optind];
    if ((rc = ctl_setup(ctx, AP_NEED_PG)) != CTL_EXIT_OK) return rc;

    bool use_stdin = strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "r");
    if (f == NULL) return ctl_fail("%s: %s", path, strerror(errno));
    import_set s = {.label = use_stdin ? "<stdin>" : path,
                    .now_ms = ap_now_ms(),
                    .max_past_ms = ctx->cfg.scheduler_max_past_ms,
                    .allow_past = allow_past,
                    .min_recur_ms = ctx->cfg.api_min_recurrence_interval_ms};
    rc = parse_file(f, &s);
    if (!use_stdin) fclose(f);
    if (rc != CTL_EXIT_OK) goto cleanup;
    if ((rc = ctl_pg_connect(ctx)) != CTL_EXIT_OK) goto cleanup;
    if ((rc = check_rows(ctx, &s)) != CTL_EXIT_OK) goto cleanup;
    if (s.nbad > 0) {
        report_errors(&s);
        rc = ctl_fail("%zu of %zu lines are invalid; nothing was imported", s.nbad, s.n);
        goto cleanup;
    }
    if (s.n == 0) {
        if (!ids) printf("imported 0 schedules\n");
        rc = CTL_EXIT_OK;
        goto cleanup;
    }
    rc = insert_all(ctx, &s, ids);
cleanup:
    import_set_free(&s);
    return rc;
}
