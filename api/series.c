/* series.c -- recurring posts in the API (README "Recurring posts"):
 * creating a series, showing its rule, GET /v1/posts/{id}/occurrences,
 * POST /v1/posts/{id}/cancel and PATCH /v1/posts/{id} {"text"}.
 *
 * A series is one posts row carrying its rule (migration 0017); the API
 * makes no schedule rows for it. The scheduler materialises occurrences a
 * horizon ahead (scheduler/recurrence.c), so creating a series costs one
 * INSERT however long the rule runs, and the rule read back here is the one
 * the scheduler expands: the occurrences endpoint and the rows agree.
 *
 * Cancel stamps recur_cancelled_at and cancels the post's pending rows in
 * one transaction. The UPDATE of the posts row waits for a materialiser
 * holding it (FOR UPDATE in recurrence_due.sql), and the cancel of pending
 * rows runs after that, so rows a materialiser just committed are
 * cancelled too, and a later materialiser skips the cancelled series.
 *
 * Editing the text changes the posts row, through 0017's
 * autopost_series_set_text (the API's role has no UPDATE of posts.text: it
 * can change a live series' text and nothing else). The scheduler reads a
 * post's text when it claims a schedule (claim_*.sql), so every occurrence
 * not yet queued goes out with the new text and queued ones keep theirs. The new
 * text is checked as a create would check it: the same decoder and every
 * account's platform rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_recur.h"
#include "ap_store.h"
#include "ap_time.h"
#include "api.h"
#include "ctl_post.h"

#define OCCURRENCES_DEFAULT 10
#define OCCURRENCES_MAX 100

/* Rules of the create request that need the config or the clock: the
 * api.min_recurrence_interval bound, and an occurrence still to come. */
bool api_series_check(const api_post_request *pr, const ap_config *cfg, api_reply *err) {
    return api_recurrence_check(pr, cfg->api_min_recurrence_interval_ms, ap_now_ms(), err);
}

/* The accounts as a uuid[] literal. */
static char *account_array(const api_post_request *pr) {
    size_t len = pr->naccounts * 37 + 3;
    char *out = malloc(len), *w = out;
    if (out == NULL) return NULL;
    *w++ = '{';
    for (size_t i = 0; i < pr->naccounts; i++) {
        if (i) *w++ = ',';
        memcpy(w, pr->account_ids[i], 36);
        w += 36;
    }
    *w++ = '}';
    *w = '\0';
    return out;
}

bool api_series_insert(const api_request *req, PGconn *db, const api_post_request *pr,
                       const char *media, const char *variants, json_t **out, char *err,
                       size_t errlen) {
    char *accounts = account_array(pr);
    if (accounts == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    const ctl_post *p = pr->post;
    const char *params[] = {req->tenant_id, p->text,         p->link,  media,   pr->recur_rrule,
                            pr->recur_tz,   pr->recur_start, accounts, variants};
    PGresult *res = api_db_store(db, AP_STORE_SERIES_CREATE, params, err, errlen);
    free(accounts);
    if (res == NULL) return false;
    json_t *recurrence = json_pack("{s:s, s:s, s:s, s:n}", "rrule", pr->recur_rrule, "tz",
                                   pr->recur_tz, "start", pr->recur_start, "cancelled_at");
    *out = json_pack("{s:s, s:s, s:o, s:[]}", "id", PQgetvalue(res, 0, 0), "format",
                     ap_format_name(pr->post->format), "recurrence", recurrence, "schedules");
    PQclear(res);
    if (*out == NULL) snprintf(err, errlen, "out of memory");
    return *out != NULL;
}

json_t *api_series_json(PGresult *res, int row, int col) {
    if (PQgetisnull(res, row, col)) return json_null();
    return json_pack("{s:s, s:s, s:s, s:o}", "rrule", PQgetvalue(res, row, col), "tz",
                     PQgetvalue(res, row, col + 1), "start", PQgetvalue(res, row, col + 2),
                     "cancelled_at", api_json_time(PQgetvalue(res, row, col + 3)));
}

/* The key's tenant's post: columns rrule, tz, start, cancelled (bool),
 * text, link, media, the accounts (uuid[] text); NULL with *r a 404/500. */
static PGresult *read_series(const api_request *req, PGconn *db, const char *id, api_reply *r) {
    char err[512];
    const char *params[] = {id, req->tenant_id};
    PGresult *res = api_db_exec(db,
                                "SELECT recur_rrule, recur_tz, recur_start, "
                                "recur_cancelled_at IS NOT NULL, text, link, media::text, "
                                "recur_account_ids::text, variants::text FROM posts "
                                "WHERE id = $1 AND tenant_id = $2",
                                2, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) {
        *r = api_error_internal(req, "read post", err);
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        *r = api_error(404, "not_found", "no such post");
        return NULL;
    }
    return res;
}

static api_reply bad_field(const char *field, const char *reason) {
    api_reply r = api_error(422, "validation_failed", "%s: %s", field, reason);
    api_error_detail(&r, field, reason);
    return r;
}

api_reply api_posts_occurrences(api_request *req, PGconn *db) {
    char id[37];
    if (!ap_uuid_normalize(req->path_id, id)) return api_error(404, "not_found", "no such post");
    long limit = OCCURRENCES_DEFAULT;
    const char *arg = req->query(req->conn, "limit");
    if (arg && *arg) {
        char *end;
        limit = strtol(arg, &end, 10);
        if (*end != '\0' || limit < 1) return bad_field("limit", "expected a whole number from 1");
        if (limit > OCCURRENCES_MAX) limit = OCCURRENCES_MAX; /* capped, not refused */
    }
    api_reply r;
    PGresult *res = read_series(req, db, id, &r);
    if (res == NULL) return r;
    json_t *items = json_array();
    bool cancelled = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    if (!PQgetisnull(res, 0, 0) && !cancelled) {
        ap_recur *rule = NULL;
        ap_status s = ap_recur_new(&rule, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                                   PQgetvalue(res, 0, 2), 0, NULL);
        int64_t at[OCCURRENCES_MAX];
        size_t n = s == AP_OK ? ap_recur_next(rule, ap_now_ms(), at, (size_t)limit) : 0;
        ap_recur_free(rule);
        for (size_t i = 0; i < n; i++) {
            char text[40];
            ap_time_format_rfc3339(at[i], text, sizeof(text));
            json_array_append_new(items, json_string(text));
        }
    }
    PQclear(res);
    return (api_reply){.status = 200, .body = json_pack("{s:o}", "items", items)};
}

static void rollback(PGconn *db) {
    PGresult *res = PQexec(db, "ROLLBACK");
    PQclear(res);
}

api_reply api_posts_cancel(api_request *req, PGconn *db) {
    char id[37], err[512];
    if (!ap_uuid_normalize(req->path_id, id)) return api_error(404, "not_found", "no such post");
    PGresult *res = api_db_exec(db, "BEGIN", 0, NULL, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL) return api_error_internal(req, "begin", err);
    PQclear(res);
    /* Stamps the series (once; a one-off post has no series to stop) and
     * takes the row lock a materialiser holds while it inserts. */
    const char *params[] = {id, req->tenant_id};
    res = api_db_exec(db,
                      "UPDATE posts SET recur_cancelled_at = coalesce(recur_cancelled_at, "
                      "CASE WHEN recur_rrule IS NOT NULL THEN now() END) "
                      "WHERE id = $1 AND tenant_id = $2 RETURNING id",
                      2, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) goto fail;
    bool found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        rollback(db);
        return api_error(404, "not_found", "no such post");
    }
    const char *cparams[] = {id, "autopost-api"};
    if (ap_store_run(db, AP_STORE_POST_CANCEL, cparams, &res, NULL, err, sizeof(err)) != AP_OK)
        goto fail;
    int cancelled = PQntuples(res);
    PQclear(res);
    if ((res = api_db_exec(db, "COMMIT", 0, NULL, PGRES_COMMAND_OK, err, sizeof(err))) == NULL)
        goto fail;
    PQclear(res);
    api_reply r = api_posts_get(req, db);
    if (r.status == 200)
        json_object_set_new(r.body, "cancelled_schedules", json_integer(cancelled));
    return r;
fail:
    rollback(db);
    return api_error_internal(req, "cancel post", err);
}

/* {"text": "..."} and nothing else; *text borrowed from *root. */
static bool decode_text_patch(const api_request *req, json_t **root, const char **text,
                              api_reply *r) {
    json_error_t jerr;
    *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (*root == NULL) {
        *r = api_error(400, "invalid_json", "the body is not JSON: %s", jerr.text);
        return false;
    }
    json_t *t = json_object_get(*root, "text");
    if (!json_is_object(*root) || json_object_size(*root) != 1 || !json_is_string(t)) {
        *r = bad_field("text", "the body must be {\"text\": \"...\"}");
        return false;
    }
    *text = json_string_value(t);
    return true;
}

/* The stored post with the new text, as a create body, through the
 * create's decoder and account checks. */
static bool check_new_text(api_request *req, PGconn *db, PGresult *post, const char *text,
                           api_reply *r) {
    json_t *accounts = json_array();
    char *list = strdup(PQgetvalue(post, 0, 7)); /* "{a,b}" */
    if (accounts == NULL || list == NULL) {
        json_decref(accounts);
        free(list);
        *r = api_error(500, "internal", "out of memory");
        return false;
    }
    char *save = NULL;
    for (char *a = strtok_r(list + 1, ",}", &save); a; a = strtok_r(NULL, ",}", &save))
        json_array_append_new(accounts, json_string(a));
    free(list);
    ap_format format;
    json_t *media = ctl_post_media_from_json(PQgetvalue(post, 0, 6), &format);
    /* The variants come along: the new text is checked where it applies. */
    json_t *body = json_pack("{s:o, s:s, s:o, s:o, s:s, s:o}", "account_ids", accounts, "text",
                             text, "link", api_json_text(post, 0, 5), "media",
                             media ? media : json_null(), "format", ap_format_name(format),
                             "variants", ctl_post_variants_from_json(PQgetvalue(post, 0, 8)));
    char *raw = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (raw == NULL) {
        *r = api_error(500, "internal", "out of memory");
        return false;
    }
    api_post_request pr;
    bool ok = api_post_request_decode(&pr, raw, strlen(raw), r) &&
              api_posts_check_accounts(req, db, &pr, r);
    api_post_request_free(&pr);
    free(raw);
    return ok;
}

api_reply api_posts_patch(api_request *req, PGconn *db) {
    char id[37], err[512];
    if (!ap_uuid_normalize(req->path_id, id)) return api_error(404, "not_found", "no such post");
    api_reply r;
    json_t *root = NULL;
    const char *text;
    PGresult *post = NULL;
    if (!decode_text_patch(req, &root, &text, &r)) goto done;
    if ((post = read_series(req, db, id, &r)) == NULL) goto done;
    if (PQgetisnull(post, 0, 0)) {
        r = bad_field("text", "only a recurring post's text can be edited (its occurrences not "
                              "yet queued take it); cancel a one-off schedule and post again");
        goto done;
    }
    if (strcmp(PQgetvalue(post, 0, 3), "t") == 0) {
        r = api_error(409, "conflict", "the series is cancelled");
        goto done;
    }
    if (!check_new_text(req, db, post, text, &r)) goto done;
    const char *params[] = {id, req->tenant_id, text};
    /* The role may not UPDATE posts.text: only a live series' text, through
     * 0017's function (a one-off post's text stays out of its reach). */
    PGresult *res = api_db_exec(db, "SELECT autopost_series_set_text($1, $2, $3)", 3, params,
                                PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) {
        r = api_error_internal(req, "edit post", err);
        goto done;
    }
    bool changed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!changed) { /* cancelled since it was read */
        r = api_error(409, "conflict", "the series is cancelled");
        goto done;
    }
    r = api_posts_get(req, db);
done:
    PQclear(post);
    json_decref(root);
    return r;
}
