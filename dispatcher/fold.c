/* fold.c -- see fold.h. */
#include "fold.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_nats.h"

#include "ap_utf8.h"

/* 9999-12-31T23:59:59.999Z. A publisher's clock value past PostgreSQL's
 * timestamp range would make the statement, and so the whole batch, fail
 * forever; such a time is stored as NULL instead. */
#define FOLD_MAX_MS INT64_C(253402300799999)

/* Advisories are a few hundred bytes; anything far larger is not one. */
#define ADVISORY_MAX_BYTES (64 * 1024)

/* ---- the fold ------------------------------------------------------------ */

static const char *nonempty(const char *s) { return (s && *s) ? s : NULL; }

/* The columns are int4; protobuf's uint32 could overflow them and fail the
 * batch. A real attempt count or generation never gets near this. */
static int64_t clamp_int4(uint32_t v) { return v > INT32_MAX ? INT32_MAX : (int64_t)v; }

static void add_ms(ap_pg_array *a, int64_t ms) {
    if (ms > 0 && ms <= FOLD_MAX_MS)
        ap_pg_array_int(a, ms);
    else
        ap_pg_array_null(a);
}

static void add_positive_int(ap_pg_array *a, int64_t v) {
    if (v > 0)
        ap_pg_array_int(a, v);
    else
        ap_pg_array_null(a);
}

static const char *class_name(Autopost__V1__ErrorClass c) {
    return c == AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_NONE ? NULL : ap_error_class_name(c);
}

static int outcome_rank(Autopost__V1__Outcome o) {
    switch (o) {
    case AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED: return 3;
    case AUTOPOST__V1__OUTCOME__OUTCOME_FAILED:
    case AUTOPOST__V1__OUTCOME__OUTCOME_UNCONFIRMED:
    case AUTOPOST__V1__OUTCOME__OUTCOME_CANCELLED:
    case AUTOPOST__V1__OUTCOME__OUTCOME_EXPIRED:
    case AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED: return 2; /* each ends the generation */
    case AUTOPOST__V1__OUTCOME__OUTCOME_RETRYING: return 1;
    default: return 0;
    }
}

int ap_fold_precedence(const ap_result *a, const ap_result *b) {
    int ra = outcome_rank(a->outcome), rb = outcome_rank(b->outcome);
    if (ra != rb) return ra - rb;
    if (a->attempt != b->attempt) return a->attempt > b->attempt ? 1 : -1;
    return 0;
}

typedef struct fold_ref {
    const ap_result *r;
    size_t i; /* position in the batch: ties go to the earlier result */
} fold_ref;

/* Groups by schedule and generation, the deciding result first. Sorting by
 * id also gives every replica the same row order, which keeps concurrent
 * batches from deadlocking as often. */
static int fold_ref_cmp(const void *pa, const void *pb) {
    const fold_ref *a = pa, *b = pb;
    int c = strcmp(a->r->schedule_id, b->r->schedule_id);
    if (c) return c;
    if (a->r->generation != b->r->generation) return a->r->generation < b->r->generation ? -1 : 1;
    c = ap_fold_precedence(a->r, b->r);
    if (c) return -c;
    return a->i < b->i ? -1 : (a->i > b->i);
}

void ap_fold_init(ap_fold *f) { memset(f, 0, sizeof(*f)); }

void ap_fold_free(ap_fold *f) {
    if (f == NULL) return;
    free(f->update_src);
    for (int i = 0; i < AP_FOLD_HISTORY_NPARAMS; i++) free(f->history[i]);
    for (int i = 0; i < AP_FOLD_UPDATE_NPARAMS; i++) free(f->update[i]);
    ap_fold_init(f);
}

/* Finishes cols[0..n) into out[0..n); false if any ran out of memory. */
static bool finish_columns(ap_pg_array *cols, char **out, int n) {
    bool ok = true;
    for (int i = 0; i < n; i++) {
        out[i] = ap_pg_array_finish(&cols[i]);
        if (out[i] == NULL) ok = false;
    }
    return ok;
}

static bool build_history(ap_fold *f, ap_result *const *results, size_t n) {
    ap_pg_array c[AP_FOLD_HISTORY_NPARAMS];
    for (int i = 0; i < AP_FOLD_HISTORY_NPARAMS; i++) ap_pg_array_init(&c[i]);
    for (size_t k = 0; k < n; k++) {
        const ap_result *r = results[k];
        ap_pg_array_text(&c[0], r->schedule_id);
        ap_pg_array_int(&c[1], clamp_int4(r->generation));
        ap_pg_array_int(&c[2], clamp_int4(r->attempt));
        ap_pg_array_text(&c[3], ap_outcome_name(r->outcome));
        ap_pg_array_text(&c[4], class_name(r->error_class));
        ap_pg_array_text(&c[5], nonempty(r->error_code));
        ap_pg_array_text(&c[6], nonempty(r->error_message));
        ap_pg_array_text(&c[7], nonempty(r->external_post_id));
        add_positive_int(&c[8], r->http_status);
        ap_pg_array_text(&c[9], nonempty(r->publisher_instance));
        add_ms(&c[10], r->started_at_ms);
        add_ms(&c[11], r->finished_at_ms);
    }
    f->nhistory = n;
    return finish_columns(c, f->history, AP_FOLD_HISTORY_NPARAMS);
}

static bool claims_post(const ap_result *r) {
    return r->outcome == AUTOPOST__V1__OUTCOME__OUTCOME_PUBLISHED &&
           nonempty(r->external_post_id) && nonempty(r->account_id);
}

static int post_cmp(const ap_result *a, const ap_result *b) {
    int c = strcmp(a->account_id, b->account_id);
    return c ? c : strcmp(a->external_post_id, b->external_post_id);
}

/* Rows that claim a post, by account, post id, then position in the batch. */
static int post_ref_cmp(const void *pa, const void *pb) {
    const fold_ref *a = pa, *b = pb;
    int c = post_cmp(a->r, b->r);
    return c ? c : a->i < b->i ? -1 : (a->i > b->i);
}

/* holders[k]: the schedule of the first earlier update row that publishes
 * the same post of the same account under another schedule (following that
 * row's own holder), or NULL: "one post, one schedule" inside the batch
 * (store/sql/fold_update.sql). The rows that claim a post are sorted, so
 * only rows of the same post are compared (a search per row was O(batch^2)).
 * False: out of memory. */
static bool batch_holders(const ap_result *const *kept, size_t n, const char **holders) {
    fold_ref *posts = malloc((n ? n : 1) * sizeof(*posts));
    if (posts == NULL) return false;
    size_t np = 0;
    for (size_t k = 0; k < n; k++) {
        holders[k] = NULL;
        if (claims_post(kept[k])) posts[np++] = (fold_ref){kept[k], k};
    }
    qsort(posts, np, sizeof(*posts), post_ref_cmp);
    for (size_t g = 0; g < np;) {
        size_t end = g + 1;
        while (end < np && post_cmp(posts[g].r, posts[end].r) == 0) end++;
        /* One post's rows, in batch order: each takes the first earlier one
         * of another schedule as its holder. */
        for (size_t m = g + 1; m < end; m++)
            for (size_t j = g; j < m; j++)
                if (strcmp(posts[j].r->schedule_id, posts[m].r->schedule_id) != 0) {
                    const char *h = holders[posts[j].i];
                    holders[posts[m].i] = h ? h : posts[j].r->schedule_id;
                    break;
                }
        g = end;
    }
    free(posts);
    return true;
}

/* A thread's ids after the post's (result field 22), comma-joined for
 * fold_update.sql's string_to_array; NULL when none. An id with a comma
 * (none of the platforms' has one) is left out rather than split. */
static bool add_part_ids(ap_pg_array *col, const ap_result *r) {
    if (r->n_part_external_ids == 0) {
        ap_pg_array_text(col, NULL);
        return true;
    }
    size_t len = 1;
    for (size_t i = 0; i < r->n_part_external_ids; i++) len += strlen(r->part_external_ids[i]) + 1;
    char *joined = malloc(len);
    if (joined == NULL) return false;
    size_t n = 0;
    for (size_t i = 0; i < r->n_part_external_ids; i++) {
        const char *id = r->part_external_ids[i];
        if (*id == '\0' || strchr(id, ',')) continue;
        n += (size_t)snprintf(joined + n, len - n, "%s%s", n ? "," : "", id);
    }
    joined[n] = '\0';
    ap_pg_array_text(col, n ? joined : NULL);
    free(joined);
    return true;
}

static bool build_update(ap_fold *f, const fold_ref *refs, size_t n) {
    ap_pg_array c[AP_FOLD_UPDATE_NPARAMS];
    for (int i = 0; i < AP_FOLD_UPDATE_NPARAMS; i++) ap_pg_array_init(&c[i]);
    const ap_result **kept = malloc(n * sizeof(*kept));
    const char **holders = malloc(n * sizeof(*holders));
    bool ok = kept != NULL && holders != NULL;
    f->nupdates = 0;
    for (size_t k = 0; ok && k < n; k++) {
        const ap_result *r = refs[k].r;
        /* refs is sorted with each group's deciding result first. */
        if (k > 0 && strcmp(r->schedule_id, refs[k - 1].r->schedule_id) == 0 &&
            r->generation == refs[k - 1].r->generation)
            continue;
        kept[f->nupdates] = r;
        f->update_src[f->nupdates++] = refs[k].i;
    }
    ok = ok && batch_holders(kept, f->nupdates, holders);
    for (size_t k = 0; ok && k < f->nupdates; k++) {
        const ap_result *r = kept[k];
        ap_pg_array_text(&c[0], r->schedule_id);
        ap_pg_array_int(&c[1], clamp_int4(r->generation));
        ap_pg_array_text(&c[2], ap_outcome_name(r->outcome));
        ap_pg_array_int(&c[3], clamp_int4(r->attempt));
        ap_pg_array_text(&c[4], nonempty(r->external_post_id));
        ap_pg_array_text(&c[5], nonempty(r->external_url));
        ap_pg_array_text(&c[6], class_name(r->error_class));
        ap_pg_array_text(&c[7], nonempty(r->error_code));
        ap_pg_array_text(&c[8], nonempty(r->error_message));
        add_ms(&c[9], r->finished_at_ms);
        /* Capped at FOLD_MAX_MS too: interval arithmetic must not overflow. */
        add_ms(&c[10],
               r->outcome == AUTOPOST__V1__OUTCOME__OUTCOME_DEFERRED ? r->retry_after_ms : 0);
        ap_pg_array_text(&c[11], holders[k]);
        ok = add_part_ids(&c[12], r);
    }
    free(kept);
    free(holders);
    if (!ok) {
        for (int i = 0; i < AP_FOLD_UPDATE_NPARAMS; i++) free(ap_pg_array_finish(&c[i]));
        return false;
    }
    return finish_columns(c, f->update, AP_FOLD_UPDATE_NPARAMS);
}

ap_status ap_fold_build(ap_fold *f, ap_result *const *results, size_t n) {
    ap_status st = AP_ENOMEM;
    ap_fold_free(f);
    if (n == 0) return AP_EINVAL;
    fold_ref *refs = malloc(n * sizeof(*refs));
    f->update_src = malloc(n * sizeof(*f->update_src));
    if (refs == NULL || f->update_src == NULL) goto cleanup;
    for (size_t k = 0; k < n; k++) refs[k] = (fold_ref){results[k], k};
    qsort(refs, n, sizeof(*refs), fold_ref_cmp);
    if (!build_history(f, results, n) || !build_update(f, refs, n)) goto cleanup;
    st = AP_OK;
cleanup:
    free(refs);
    if (st != AP_OK) ap_fold_free(f);
    return st;
}

/* ---- advisories --------------------------------------------------------- */

static ap_status copy_string_field(json_t *root, const char *key, char *dst, size_t dstlen,
                                   bool required, char *err, size_t errlen) {
    json_t *v = json_object_get(root, key);
    dst[0] = '\0';
    if (v == NULL && !required) return AP_OK;
    if (!json_is_string(v) || json_string_length(v) >= dstlen) {
        snprintf(err, errlen, "advisory: \"%s\" missing, not a string or too long", key);
        return AP_EINVAL;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return AP_OK;
}

ap_status ap_advisory_parse(const char *data, size_t len, ap_advisory *out, char *err,
                            size_t errlen) {
    ap_status st = AP_EINVAL;
    json_error_t jerr;
    json_t *root = NULL;
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > ADVISORY_MAX_BYTES) {
        snprintf(err, errlen, "advisory: size %zu outside 1..%d bytes", len, ADVISORY_MAX_BYTES);
        goto cleanup;
    }
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        snprintf(err, errlen, "advisory: not a JSON object%s%s", root ? "" : ": ",
                 root ? "" : jerr.text);
        goto cleanup;
    }
    const char *type = json_string_value(json_object_get(root, "type"));
    if (type == NULL || strcmp(type, AP_ADVISORY_MAX_DELIVER_TYPE) != 0) {
        snprintf(err, errlen, "advisory: type is not " AP_ADVISORY_MAX_DELIVER_TYPE);
        goto cleanup;
    }
    if (copy_string_field(root, "stream", out->stream, sizeof(out->stream), true, err, errlen) ||
        copy_string_field(root, "consumer", out->consumer, sizeof(out->consumer), false, err,
                          errlen))
        goto cleanup;
    json_t *seq = json_object_get(root, "stream_seq");
    if (!json_is_integer(seq) || json_integer_value(seq) <= 0) {
        snprintf(err, errlen, "advisory: stream_seq missing or not a positive integer");
        goto cleanup;
    }
    out->stream_seq = (uint64_t)json_integer_value(seq);
    json_t *dl = json_object_get(root, "deliveries");
    if (json_is_integer(dl) && json_integer_value(dl) > 0)
        out->deliveries = (uint64_t)json_integer_value(dl);
    st = AP_OK;
cleanup:
    json_decref(root);
    return st;
}

void ap_advisory_message(char *buf, size_t len, uint64_t deliveries) {
    snprintf(buf, len,
             "gave up after %" PRIu64 " deliveries without a result "
             "(publisher crashed or timed out each time)",
             deliveries);
}

/* ---- terminal transitions ------------------------------------------------ */

static const char *const terminal_status_names[AP_TERMINAL_NSTATUS] = {
    [AP_TERMINAL_PUBLISHED] = "published",     [AP_TERMINAL_FAILED] = "failed",
    [AP_TERMINAL_UNCONFIRMED] = "unconfirmed", [AP_TERMINAL_CANCELLED] = "cancelled",
    [AP_TERMINAL_EXPIRED] = "expired",
};

static const char *const terminal_cause_names[AP_CAUSE_N] = {
    [AP_CAUSE_RESULT] = "result",
    [AP_CAUSE_REAUTH_CASCADE] = "reauth_cascade",
    [AP_CAUSE_MAX_DELIVERIES] = "max_deliveries",
};

int ap_terminal_status_of(const char *status) {
    for (int i = 0; status && i < AP_TERMINAL_NSTATUS; i++)
        if (strcmp(status, terminal_status_names[i]) == 0) return i;
    return -1;
}

const char *ap_terminal_status_name(ap_terminal_status s) {
    return (unsigned)s < AP_TERMINAL_NSTATUS ? terminal_status_names[s] : "unknown";
}

const char *ap_terminal_cause_name(ap_terminal_cause c) {
    return (unsigned)c < AP_CAUSE_N ? terminal_cause_names[c] : "unknown";
}

/* ---- who may report on a schedule ------------------------------------------ */

const char *ap_owner_subject_platform(const char *subject, char *buf, size_t len) {
    static const char prefix[] = AP_SUBJECT_RESULTS_PREFIX;
    if (subject == NULL || strncmp(subject, prefix, sizeof(prefix) - 1) != 0) return NULL;
    const char *name = subject + sizeof(prefix) - 1;
    size_t n = strlen(name);
    if (n == 0 || n >= len || strchr(name, '.') != NULL) return NULL;
    memcpy(buf, name, n + 1);
    return buf;
}

ap_owner_verdict ap_owner_check(const ap_result *r, const char *subject_platform,
                                const char *schedule_account, const char *account_platform) {
    if (subject_platform == NULL || *subject_platform == '\0') return AP_OWNER_NO_PLATFORM;
    if (nonempty(r->platform) && strcmp(r->platform, subject_platform) != 0)
        return AP_OWNER_PLATFORM;
    if (schedule_account == NULL)
        return nonempty(r->account_id) ? AP_OWNER_UNKNOWN_SCHEDULE : AP_OWNER_OK;
    if (account_platform == NULL || strcmp(account_platform, subject_platform) != 0)
        return AP_OWNER_PLATFORM;
    /* PostgreSQL prints uuids in lower case; a publisher echoes the job's. */
    if (nonempty(r->account_id) && strcasecmp(r->account_id, schedule_account) != 0)
        return AP_OWNER_ACCOUNT;
    return AP_OWNER_OK;
}

static const char *const owner_verdict_names[AP_OWNER_N] = {
    [AP_OWNER_OK] = "ok",
    [AP_OWNER_NO_PLATFORM] = "subject",
    [AP_OWNER_PLATFORM] = "platform",
    [AP_OWNER_ACCOUNT] = "account",
    [AP_OWNER_UNKNOWN_SCHEDULE] = "unknown_schedule",
};

const char *ap_owner_verdict_name(ap_owner_verdict v) {
    return (unsigned)v < AP_OWNER_N ? owner_verdict_names[v] : "unknown";
}

/* ---- account effects ------------------------------------------------------- */

void ap_account_fold_init(ap_account_fold *f) { memset(f, 0, sizeof(*f)); }

void ap_account_fold_free(ap_account_fold *f) {
    if (f == NULL) return;
    for (int i = 0; i < AP_ACCOUNT_CRED_NPARAMS; i++) free(f->credentials[i]);
    for (int i = 0; i < AP_ACCOUNT_PAUSE_NPARAMS; i++) free(f->pauses[i]);
    for (int i = 0; i < AP_ACCOUNT_USAGE_NPARAMS; i++) free(f->usage[i]);
    free(f->reauth);
    ap_account_fold_init(f);
}

/* A credential a publisher could not even open (code "credential": a key
 * missing from its keyring) says nothing about the account: not marked. */
static bool is_reauth_failure(const ap_result *r) {
    return r->outcome == AUTOPOST__V1__OUTCOME__OUTCOME_FAILED &&
           r->error_class == AUTOPOST__V1__ERROR_CLASS__ERROR_CLASS_REAUTH && r->account_id &&
           *r->account_id && !(r->error_code && strcmp(r->error_code, "credential") == 0);
}

static bool has_refresh(const ap_result *r) {
    return r->refreshed_credential.len > 0 && r->credential_issued_at_ms > 0 && r->account_id &&
           *r->account_id;
}

static char *hex_of(const uint8_t *b, size_t n) {
    char *h = malloc(2 * n + 1);
    if (h == NULL) return NULL;
    for (size_t i = 0; i < n; i++) snprintf(h + 2 * i, 3, "%02x", b[i]);
    h[2 * n] = '\0';
    return h;
}

static ap_status build_credentials(ap_account_fold *f, ap_result *const *results, size_t n) {
    ap_pg_array c[AP_ACCOUNT_CRED_NPARAMS];
    for (int i = 0; i < AP_ACCOUNT_CRED_NPARAMS; i++) ap_pg_array_init(&c[i]);
    for (size_t k = 0; k < n; k++) {
        const ap_result *r = results[k];
        if (!has_refresh(r)) continue;
        bool superseded = false; /* the newest of the batch per account wins */
        for (size_t j = 0; j < n && !superseded; j++)
            if (j != k && has_refresh(results[j]) &&
                strcmp(results[j]->account_id, r->account_id) == 0 &&
                (results[j]->credential_issued_at_ms > r->credential_issued_at_ms ||
                 (results[j]->credential_issued_at_ms == r->credential_issued_at_ms && j < k)))
                superseded = true;
        if (superseded) continue;
        char *hex = hex_of(r->refreshed_credential.data, r->refreshed_credential.len);
        if (hex == NULL) ap_pg_array_fail(&c[1]);
        ap_pg_array_text(&c[0], r->account_id);
        ap_pg_array_text(&c[1], hex);
        ap_pg_array_int(&c[2], r->credential_issued_at_ms);
        free(hex);
        f->ncredentials++;
    }
    if (f->ncredentials == 0) {
        for (int i = 0; i < AP_ACCOUNT_CRED_NPARAMS; i++) ap_pg_array_free(&c[i]);
        return AP_OK;
    }
    return finish_columns(c, f->credentials, AP_ACCOUNT_CRED_NPARAMS) ? AP_OK : AP_ENOMEM;
}

/* Invalid UTF-8 (or a character cut by truncation) would make PostgreSQL
 * refuse the statement: such bytes become '?'. */
static void utf8_scrub(char *s) {
    for (unsigned char *p = (unsigned char *)s; *p;) {
        size_t k = ap_utf8_char_len((const char *)p);
        if (k == 0) {
            *p++ = '?';
            continue;
        }
        p += k;
    }
}

/* A pause needs a scope, a positive wait and a time it started; an account
 * pause also needs the account. */
static bool has_pause(const ap_result *r) {
    if (r->retry_after_ms <= 0 || r->finished_at_ms <= 0 ||
        r->finished_at_ms > FOLD_MAX_MS - r->retry_after_ms)
        return false;
    if (r->pause_scope == AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_APP)
        return r->platform && *r->platform;
    return r->pause_scope == AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_ACCOUNT &&
           ap_uuid_valid(r->account_id);
}

static ap_status build_pauses(ap_account_fold *f, ap_result *const *results, size_t n) {
    ap_pg_array c[AP_ACCOUNT_PAUSE_NPARAMS];
    for (int i = 0; i < AP_ACCOUNT_PAUSE_NPARAMS; i++) ap_pg_array_init(&c[i]);
    for (size_t k = 0; k < n; k++) {
        const ap_result *r = results[k];
        if (!has_pause(r)) continue;
        bool app = r->pause_scope == AUTOPOST__V1__PAUSE_SCOPE__PAUSE_SCOPE_APP;
        ap_pg_array_text(&c[0], app ? NULL : r->account_id);
        ap_pg_array_text(&c[1], r->platform);
        ap_pg_array_int(&c[2], r->finished_at_ms + r->retry_after_ms);
        f->npauses++;
    }
    if (f->npauses == 0) {
        for (int i = 0; i < AP_ACCOUNT_PAUSE_NPARAMS; i++) ap_pg_array_free(&c[i]);
        return AP_OK;
    }
    return finish_columns(c, f->pauses, AP_ACCOUNT_PAUSE_NPARAMS) ? AP_OK : AP_ENOMEM;
}

/* An observation needs the account, a count and a time PostgreSQL can hold. */
static bool has_usage(const ap_result *r) {
    return r->platform_usage_at_ms > 0 && r->platform_usage_at_ms <= FOLD_MAX_MS &&
           r->platform_usage >= 0 && ap_uuid_valid(r->account_id);
}

static ap_status build_usage(ap_account_fold *f, ap_result *const *results, size_t n) {
    ap_pg_array c[AP_ACCOUNT_USAGE_NPARAMS];
    for (int i = 0; i < AP_ACCOUNT_USAGE_NPARAMS; i++) ap_pg_array_init(&c[i]);
    for (size_t k = 0; k < n; k++) {
        const ap_result *r = results[k];
        if (!has_usage(r)) continue;
        ap_pg_array_text(&c[0], r->account_id);
        ap_pg_array_int(&c[1], r->platform_usage);
        ap_pg_array_int(&c[2], r->platform_usage_at_ms);
        f->nusage++;
    }
    if (f->nusage == 0) {
        for (int i = 0; i < AP_ACCOUNT_USAGE_NPARAMS; i++) ap_pg_array_free(&c[i]);
        return AP_OK;
    }
    return finish_columns(c, f->usage, AP_ACCOUNT_USAGE_NPARAMS) ? AP_OK : AP_ENOMEM;
}

ap_status ap_account_fold_build(ap_account_fold *f, ap_result *const *results, size_t n) {
    ap_account_fold_free(f);
    ap_status st = build_credentials(f, results, n);
    if (st == AP_OK) st = build_pauses(f, results, n);
    if (st == AP_OK) st = build_usage(f, results, n);
    if (st != AP_OK) goto fail;
    for (size_t k = 0; k < n; k++) {
        const ap_result *r = results[k];
        if (!is_reauth_failure(r)) continue;
        bool seen = false;
        for (size_t j = 0; j < f->nreauth && !seen; j++)
            seen = strcmp(f->reauth[j].account_id, r->account_id) == 0;
        if (seen) continue;
        ap_account_reauth *grown = realloc(f->reauth, (f->nreauth + 1) * sizeof(*grown));
        if (grown == NULL) {
            st = AP_ENOMEM;
            goto fail;
        }
        f->reauth = grown;
        ap_account_reauth *a = &f->reauth[f->nreauth++];
        const char *why = nonempty(r->error_message) ? r->error_message
                                                     : "the platform refused "
                                                       "the credential";
        snprintf(a->account_id, sizeof(a->account_id), "%s", r->account_id);
        snprintf(a->issued_at, sizeof(a->issued_at), "%" PRId64,
                 r->credential_issued_at_ms > 0 ? r->credential_issued_at_ms : 0);
        snprintf(a->reason, sizeof(a->reason), "%s", why);
        snprintf(a->message, sizeof(a->message),
                 "the account needs to be reconnected (`autopostctl accounts set-credential`): %s",
                 why);
        utf8_scrub(a->reason);
        utf8_scrub(a->message);
    }
    return AP_OK;
fail:
    ap_account_fold_free(f);
    return st;
}
