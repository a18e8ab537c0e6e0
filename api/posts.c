/* posts.c -- POST /v1/posts and GET /v1/posts/{id}.
 *
 * Create is all or nothing, in one transaction: the idempotency claim, the
 * accounts' checks, the post and one schedule per account. Every account is
 * checked before anything is written and every refusal is collected, so a
 * 422 lists each bad field at once and stores nothing. The checks are
 * autopostctl's (ctl/ctl_post.h): the account must belong to the key's
 * tenant and be usable, and the platform adapter's own validate() decides
 * "too long for X". An account of another tenant is "no such account", the
 * same words as one that does not exist: an answer never confirms that
 * another tenant's id is real. "at" omitted means the database's now(), the
 * clock the scheduler compares against. A "recurrence" instead of "at" makes
 * a series (series.c): the same checks, then the posts row alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_time.h"
#include "api.h"
#include "ctl_post.h"

/* GET /v1/posts/{id} shows at most this many schedules, the newest. */
#define POST_SCHEDULES_SHOWN 100

/* The accounts as a PostgreSQL uuid[] literal, {a,b,...}. */
#define ID_ARRAY_LEN (API_MAX_ACCOUNTS * 37 + 3)
static void id_array(const api_post_request *pr, char out[ID_ARRAY_LEN]) {
    size_t n = 0;
    out[n++] = '{';
    for (size_t i = 0; i < pr->naccounts; i++) {
        if (i) out[n++] = ',';
        memcpy(out + n, pr->account_ids[i], 36);
        n += 36;
    }
    out[n++] = '}';
    out[n] = '\0';
}

/* The key's tenant's accounts among ids, checked one by one into r's
 * details; true when every one passed. */
bool api_posts_check_accounts(const api_request *req, PGconn *db, const api_post_request *pr,
                              api_reply *r) {
    char err[512], ids[ID_ARRAY_LEN];
    id_array(pr, ids);
    const char *params[] = {ids, req->tenant_id};
    PGresult *res = api_db_exec(db,
                                "SELECT id, platform, external_id, status, "
                                "coalesce(status_reason, '') FROM social_accounts "
                                "WHERE id = ANY ($1::uuid[]) AND tenant_id = $2",
                                2, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) {
        *r = api_error_internal(req, "account lookup", err);
        return false;
    }
    *r = api_error(422, "validation_failed", "the post is not valid for every account");
    bool all_ok = true;
    for (size_t i = 0; i < pr->naccounts; i++) {
        char field[128], why[700];
        snprintf(field, sizeof(field), "account_ids[%zu]", i);
        int row = -1;
        for (int j = 0; j < PQntuples(res); j++)
            if (strcmp(PQgetvalue(res, j, 0), pr->account_ids[i]) == 0) row = j;
        bool ok = true;
        if (row < 0) {
            snprintf(why, sizeof(why), "no such account");
            ok = false;
        } else if (!ctl_account_usable(pr->account_ids[i], PQgetvalue(res, row, 3),
                                       PQgetvalue(res, row, 4), why, sizeof(why))) {
            ok = false;
        } else {
            /* The job the adapter sees names the account it goes to. */
            memcpy(pr->post->account_id, pr->account_ids[i], sizeof(pr->post->account_id));
            ok = ctl_post_validate_platform(pr->post, PQgetvalue(res, row, 1),
                                            PQgetvalue(res, row, 2), why, sizeof(why));
        }
        /* A format the platform cannot do names the field at fault, and
         * so does content that is a variant's. */
        const ctl_variant *v =
            row < 0 ? NULL
                    : ctl_post_variant_for(pr->post, pr->account_ids[i], PQgetvalue(res, row, 1));
        if (!ok && ctl_reason_is_format(why)) snprintf(field, sizeof(field), "format");
        if (!ok && v && strncmp(why, "variants.", 9) == 0)
            snprintf(field, sizeof(field), "variants.%.80s", v->key);
        if (!ok) ctl_reason_chain_field(why, field, sizeof(field));
        if (!ok) {
            api_error_detail(r, field, why);
            all_ok = false;
        }
    }
    PQclear(res);
    if (all_ok) {
        json_decref(r->body);
        r->body = NULL;
    }
    return all_ok;
}

/* Inserts the post and its schedules; the 201 body. */
static bool insert_post(const api_request *req, PGconn *db, const api_post_request *pr,
                        json_t **out, char *err, size_t errlen) {
    char *media = ctl_post_media_json(pr->post), *variants = NULL;
    if (media == NULL || !ctl_post_variants_json(pr->post, &variants)) {
        free(media);
        snprintf(err, errlen, "out of memory");
        return false;
    }
    if (pr->recur_rrule != NULL) { /* a series: its rows come from the scheduler */
        bool ok = api_series_insert(req, db, pr, media, variants, out, err, errlen);
        free(media);
        free(variants);
        return ok;
    }
    const ctl_post *p = pr->post;
    bool oom = false;
    char *thread = ap_thread_to_json(&p->thread, &oom);
    if (oom) {
        free(media);
        free(variants);
        snprintf(err, errlen, "out of memory");
        return false;
    }
    const char *params[] = {req->tenant_id, p->text, p->link,         media,
                            variants,       thread,  p->first_comment};
    PGresult *res =
        api_db_exec(db,
                    "INSERT INTO posts (tenant_id, text, link, media, variants, thread, "
                    "first_comment) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, "
                    "$6::jsonb, $7) RETURNING id",
                    7, params, PGRES_TUPLES_OK, err, errlen);
    free(media);
    free(variants);
    free(thread);
    if (res == NULL) return false;
    char post_id[37], ids[ID_ARRAY_LEN], at[40], deadline[40];
    snprintf(post_id, sizeof(post_id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    id_array(pr, ids);
    if (!p->at_now) ap_time_format_rfc3339(p->at_ms, at, sizeof(at));
    if (p->deadline_ms > 0) ap_time_format_rfc3339(p->deadline_ms, deadline, sizeof(deadline));
    /* No trace (the random source failed): the statement starts one. */
    const char *sparams[] = {post_id,
                             ids,
                             p->at_now ? NULL : at,
                             ctl_post_priority(p),
                             req->traceparent[0] ? req->traceparent : NULL,
                             p->deadline_ms > 0 ? deadline : NULL};
    res = api_db_store(db, AP_STORE_API_SCHEDULES_CREATE, sparams, err, errlen);
    if (res == NULL) return false;
    json_t *schedules = json_array();
    for (int i = 0; schedules && i < PQntuples(res); i++)
        json_array_append_new(schedules, api_schedule_json(res, i));
    PQclear(res);
    *out = json_pack("{s:s, s:s, s:s, s:o}", "id", post_id, "priority", ctl_post_priority(p),
                     "format", ap_format_name(p->format), "schedules", schedules);
    if (*out == NULL) snprintf(err, errlen, "out of memory");
    return *out != NULL;
}

static void rollback(PGconn *db) {
    PGresult *res = PQexec(db, "ROLLBACK");
    PQclear(res);
}

/* The transaction: claim, check, insert, remember, commit. */
static api_reply create_in_tx(api_request *req, PGconn *db, api_post_request *pr) {
    char err[512];
    api_reply r = {0};
    PGresult *res = api_db_exec(db, "BEGIN", 0, NULL, PGRES_COMMAND_OK, err, sizeof(err));
    if (res == NULL) return api_error_internal(req, "begin", err);
    PQclear(res);
    if (req->idempotency_key) {
        switch (api_idem_claim(req, db, &r, err, sizeof(err))) {
        case API_IDEM_NEW: break;
        case API_IDEM_REPLAY: rollback(db); return r;
        case API_IDEM_CONFLICT:
            rollback(db);
            return api_error(409, "idempotency_key_reused",
                             "this Idempotency-Key was used with another request body");
        case API_IDEM_ERROR: rollback(db); return api_error_internal(req, "idempotency", err);
        }
    }
    if (!api_posts_check_accounts(req, db, pr, &r)) {
        rollback(db);
        return r;
    }
    json_t *body = NULL;
    char *text = NULL;
    if (!insert_post(req, db, pr, &body, err, sizeof(err))) goto fail;
    if ((text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
    }
    if (req->idempotency_key && !api_idem_remember(req, db, 201, text, err, sizeof(err))) goto fail;
    if ((res = api_db_exec(db, "COMMIT", 0, NULL, PGRES_COMMAND_OK, err, sizeof(err))) == NULL)
        goto fail;
    PQclear(res);
    json_decref(body);
    return (api_reply){.status = 201, .raw_body = text};
fail:
    rollback(db);
    json_decref(body);
    free(text);
    return api_error_internal(req, "create post", err);
}

api_reply api_posts_create(api_request *req, PGconn *db) {
    if (req->idempotency_key &&
        (strlen(req->idempotency_key) == 0 || strlen(req->idempotency_key) > 255)) {
        api_reply r = api_error(422, "validation_failed", "Idempotency-Key must be 1 to 255 bytes");
        api_error_detail(&r, "Idempotency-Key", "must be 1 to 255 bytes");
        return r;
    }
    api_post_request pr;
    api_reply r;
    if (!api_post_request_decode(&pr, req->body, req->body_len, &r)) {
        api_post_request_free(&pr);
        return r;
    }
    if (pr.recur_rrule != NULL && !api_series_check(&pr, req->cfg, &r)) {
        api_post_request_free(&pr);
        return r;
    }
    char why[512];
    if (!ctl_post_check_at(pr.post, ap_now_ms(), req->cfg->scheduler_max_past_ms, false, why,
                           sizeof(why))) {
        api_post_request_free(&pr);
        r = api_error(422, "validation_failed", "%s", why);
        api_error_detail(&r, "at", why);
        return r;
    }
    r = create_in_tx(req, db, &pr);
    api_post_request_free(&pr);
    return r;
}

api_reply api_posts_get(api_request *req, PGconn *db) {
    char id[37], err[512];
    if (!ap_uuid_normalize(req->path_id, id)) return api_error(404, "not_found", "no such post");
    const char *params[] = {id, req->tenant_id};
    /* Columns 0-11: id, text, link, media, created_at, the recurrence (4),
     * variants, thread, first_comment. */
    // clang-format off
    static const char sql[] =
        "SELECT id, text, link, media::text, " API_SQL_MS("created_at") ", "
        "recur_rrule, recur_tz, recur_start, " API_SQL_MS("recur_cancelled_at") ", "
        "variants::text, coalesce(thread::text, '[]'), first_comment "
        "FROM posts WHERE id = $1 AND tenant_id = $2";
    // clang-format on
    PGresult *res = api_db_exec(db, sql, 2, params, PGRES_TUPLES_OK, err, sizeof(err));
    if (res == NULL) return api_error_internal(req, "read post", err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return api_error(404, "not_found", "no such post");
    }
    ap_format format;
    json_t *media = ctl_post_media_from_json(PQgetvalue(res, 0, 3), &format);
    json_t *post = json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "id", PQgetvalue(res, 0, 0), "text",
                             PQgetvalue(res, 0, 1), "link", api_json_text(res, 0, 2), "media",
                             media ? media : json_array(), "format", ap_format_name(format),
                             "created_at", api_json_time(PQgetvalue(res, 0, 4)));
    json_object_set_new(post, "recurrence", api_series_json(res, 0, 5));
    json_object_set_new(post, "variants", ctl_post_variants_from_json(PQgetvalue(res, 0, 9)));
    /* README "Threads and first comments": the stored shape, as given. */
    json_t *thread = json_loads(PQgetvalue(res, 0, 10), 0, NULL);
    json_object_set_new(post, "thread", json_is_array(thread) ? thread : json_array());
    if (!json_is_array(thread)) json_decref(thread);
    json_object_set_new(post, "first_comment", api_json_text(res, 0, 11));
    PQclear(res);
    /* A series gains schedules for as long as it runs: the newest ones
     * here, all of them through GET /v1/schedules?post_id=. One more is
     * read to know whether older ones exist; it is the oldest, left out. */
    char shown_plus_one[16];
    snprintf(shown_plus_one, sizeof(shown_plus_one), "%d", POST_SCHEDULES_SHOWN + 1);
    const char *sparams[] = {id, shown_plus_one};
    res = api_db_store(db, AP_STORE_API_POST_SCHEDULES, sparams, err, sizeof(err));
    if (res == NULL) {
        json_decref(post);
        return api_error_internal(req, "read schedules", err);
    }
    int rows = PQntuples(res), skip = rows > POST_SCHEDULES_SHOWN ? rows - POST_SCHEDULES_SHOWN : 0;
    json_t *schedules = json_array();
    for (int i = skip; i < rows; i++) json_array_append_new(schedules, api_schedule_json(res, i));
    PQclear(res);
    json_object_set_new(post, "more_schedules", json_boolean(skip > 0));
    /* A one-off post's deadline is its schedules' (README "Deadlines"). */
    json_t *first = json_array_get(schedules, 0);
    json_t *deadline = first ? json_object_get(first, "deadline") : NULL;
    json_object_set_new(post, "deadline", deadline ? json_incref(deadline) : json_null());
    json_object_set_new(post, "schedules", schedules);
    return (api_reply){.status = 200, .body = post};
}
