/* knobs.c -- the sandbox's knobs: one table (name, kind, offset) drives
 * the command-line flags (main.c), GET /_sandbox/config's JSON and POST
 * /_sandbox/config's validation, so a knob is added in one line.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"

typedef enum { SANDBOX_KNOB_LONG, SANDBOX_KNOB_RATE, SANDBOX_KNOB_BOOL } sandbox_knob_kind;

static const struct sandbox_knob_desc {
    const char *name;
    sandbox_knob_kind kind;
    size_t off;
} sandbox_knob_table[] = {
    {"latency_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, latency_ms)},
    {"latency_jitter_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, latency_jitter_ms)},
    {"error_rate_5xx", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, error_rate_5xx)},
    {"throttle_rate", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, throttle_rate)},
    {"hang_rate", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, hang_rate)},
    {"close_rate", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, close_rate)},
    {"resend_rate", SANDBOX_KNOB_RATE, offsetof(sandbox_knobs, resend_rate)},
    {"duplicate_window_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, duplicate_window_ms)},
    {"page_rate_limit", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, page_rate_limit)},
    {"rate_window_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, rate_window_ms)},
    {"reject_duplicates", SANDBOX_KNOB_BOOL, offsetof(sandbox_knobs, reject_duplicates)},
    {"faults_on_reads", SANDBOX_KNOB_BOOL, offsetof(sandbox_knobs, faults_on_reads)},
    {"max_held", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, max_held)},
    {"container_ready_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, container_ready_ms)},
    {"publish_error_after_commit_rate", SANDBOX_KNOB_RATE,
     offsetof(sandbox_knobs, publish_error_after_commit_rate)},
    {"instagram_quota", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, instagram_quota)},
    {"threads_quota", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, threads_quota)},
    {"quota_window_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, quota_window_ms)},
    {"x_user_post_limit", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_user_post_limit)},
    {"x_user_window_ms", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_user_window_ms)},
    {"x_user_daily_limit", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_user_daily_limit)},
    {"x_append_fail_segment", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_append_fail_segment)},
    {"x_processing_polls", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_processing_polls)},
    {"x_processing_fail", SANDBOX_KNOB_BOOL, offsetof(sandbox_knobs, x_processing_fail)},
    {"x_expire_uploads", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_expire_uploads)},
    {"x_reply_fault", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_reply_fault)},
    {"x_reply_fault_at", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, x_reply_fault_at)},
    {"linkedin_min_version", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, linkedin_min_version)},
    {"linkedin_video_part_fail", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, linkedin_video_part_fail)},
    {"linkedin_video_processing_polls", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, linkedin_video_processing_polls)},
    {"linkedin_video_processing_fail", SANDBOX_KNOB_BOOL,
     offsetof(sandbox_knobs, linkedin_video_processing_fail)},
    {"linkedin_video_expire_uploads", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, linkedin_video_expire_uploads)},
    {"facebook_video_transfer_fail", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, facebook_video_transfer_fail)},
    {"facebook_video_processing_polls", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, facebook_video_processing_polls)},
    {"facebook_video_processing_fail", SANDBOX_KNOB_BOOL,
     offsetof(sandbox_knobs, facebook_video_processing_fail)},
    {"facebook_video_expire_uploads", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, facebook_video_expire_uploads)},
    {"linkedin_document_put_fail", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, linkedin_document_put_fail)},
    {"linkedin_document_processing_polls", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, linkedin_document_processing_polls)},
    {"linkedin_document_processing_fail", SANDBOX_KNOB_BOOL,
     offsetof(sandbox_knobs, linkedin_document_processing_fail)},
    {"linkedin_document_expire_uploads", SANDBOX_KNOB_LONG,
     offsetof(sandbox_knobs, linkedin_document_expire_uploads)},
    {"token_ttl_s", SANDBOX_KNOB_LONG, offsetof(sandbox_knobs, token_ttl_s)},
};

#define SANDBOX_NKNOBS (sizeof(sandbox_knob_table) / sizeof(sandbox_knob_table[0]))

void sandbox_knobs_default(sandbox_knobs *k) {
    memset(k, 0, sizeof(*k));
    k->rate_window_ms = 60000;
    k->reject_duplicates = 1;
    /* X and LinkedIn refuse a repeat of a recent post, not of any post ever;
     * a day is the order of magnitude (neither publishes the window). */
    k->duplicate_window_ms = 24 * 3600 * 1000;
    k->max_held = 5000;
    k->instagram_quota = 50; /* Instagram's documented limit */
    k->threads_quota = 250;  /* Threads' documented limit */
    k->quota_window_ms = 24 * 3600 * 1000;
    k->x_user_post_limit = 200;
    k->x_user_window_ms = 15 * 60 * 1000;
    k->token_ttl_s = 7200; /* X's access tokens live two hours */
}

void sandbox_knobs_get(sandbox_knobs *out) {
    pthread_mutex_lock(&server.lock);
    *out = server.knobs;
    pthread_mutex_unlock(&server.lock);
}

static const struct sandbox_knob_desc *sandbox_knob_find(const char *name) {
    for (size_t i = 0; i < SANDBOX_NKNOBS; i++)
        if (strcmp(sandbox_knob_table[i].name, name) == 0) return &sandbox_knob_table[i];
    return NULL;
}

static int sandbox_knob_store(sandbox_knobs *k, const struct sandbox_knob_desc *d, double v) {
    char *field = (char *)k + d->off;
    switch (d->kind) {
    case SANDBOX_KNOB_LONG:
        /* Written so that NaN fails before the cast. */
        if (!(v >= 0 && v <= SANDBOX_KNOB_MAX) || v != (double)(long)v) return -1;
        *(long *)field = (long)v;
        return 0;
    case SANDBOX_KNOB_RATE:
        if (!(v >= 0.0 && v <= 1.0)) return -1; /* also rejects NaN */
        *(double *)field = v;
        return 0;
    case SANDBOX_KNOB_BOOL:
        if (v != 0.0 && v != 1.0) return -1;
        *(int *)field = (int)v;
        return 0;
    }
    return -1;
}

int sandbox_knob_parse(sandbox_knobs *k, const char *name, const char *text) {
    const struct sandbox_knob_desc *d = sandbox_knob_find(name);
    char *end;
    double v;
    if (d == NULL || text == NULL || *text == '\0') return -1;
    if (d->kind == SANDBOX_KNOB_BOOL && strcmp(text, "true") == 0) text = "1";
    if (d->kind == SANDBOX_KNOB_BOOL && strcmp(text, "false") == 0) text = "0";
    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || *end != '\0') return -1;
    return sandbox_knob_store(k, d, v);
}

json_t *sandbox_knobs_json(const sandbox_knobs *k, uint64_t seed) {
    json_t *o = json_object();
    int rc = 0;
    if (o == NULL) return NULL;
    for (size_t i = 0; i < SANDBOX_NKNOBS; i++) {
        const struct sandbox_knob_desc *d = &sandbox_knob_table[i];
        const char *field = (const char *)k + d->off;
        json_t *v = d->kind == SANDBOX_KNOB_LONG   ? json_integer(*(const long *)field)
                    : d->kind == SANDBOX_KNOB_RATE ? json_real(*(const double *)field)
                                                   : json_boolean(*(const int *)field);
        rc |= json_object_set_new(o, d->name, v);
    }
    rc |= json_object_set_new(o, "seed", json_integer((json_int_t)seed));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The number a JSON value stands for as knob d; -1 (always out of range)
 * when its type does not fit. Booleans also accept 0|1 like the flags. */
static double sandbox_knob_json_value(const struct sandbox_knob_desc *d, json_t *v) {
    if (d->kind == SANDBOX_KNOB_BOOL && json_is_boolean(v)) return json_is_true(v) ? 1.0 : 0.0;
    if (d->kind == SANDBOX_KNOB_BOOL && json_is_integer(v)) return (double)json_integer_value(v);
    if (d->kind != SANDBOX_KNOB_BOOL && json_is_number(v)) return json_number_value(v);
    return -1.0;
}

/* Validates every member of obj into *k (a copy); "seed" goes to *seed.
 * Returns 0, or -1 with a message in err. */
int sandbox_knobs_from_json(sandbox_knobs *k, uint64_t *seed, json_t *obj, char *err,
                            size_t errlen) {
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v) {
        const struct sandbox_knob_desc *d = sandbox_knob_find(name);
        int ok;
        if (strcmp(name, "seed") == 0) {
            ok = json_is_integer(v) && json_integer_value(v) >= 0;
            if (ok) *seed = (uint64_t)json_integer_value(v);
        } else if (d == NULL) {
            snprintf(err, errlen, "unknown knob '%s'", name);
            return -1;
        } else {
            ok = sandbox_knob_store(k, d, sandbox_knob_json_value(d, v)) == 0;
        }
        if (!ok) {
            snprintf(err, errlen, "invalid value for knob '%s'", name);
            return -1;
        }
    }
    return 0;
}
