/* ctl_post.c -- see ctl_post.h. */
#include "ctl_post.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"
#include "ap_recur.h"
#include "ap_time.h"

void ctl_post_init(ctl_post *p) { memset(p, 0, sizeof(*p)); }

void ctl_post_free(ctl_post *p) {
    if (p == NULL) return;
    free(p->text);
    free(p->link);
    for (size_t i = 0; i < p->nmedia; i++) {
        free(p->media[i].url);
        free(p->media[i].alt_text);
    }
    free(p->media);
    free(p->recur_rrule);
    free(p->recur_tz);
    free(p->recur_start);
    ctl_post_variants_free(p);
    ap_thread_free(&p->thread);
    free(p->first_comment);
    memset(p, 0, sizeof(*p));
}

bool ctl_post_set_thread(ctl_post *p, json_t *v, char *reason, size_t len) {
    ap_thread_free(&p->thread);
    return ap_thread_from_value(v, &p->thread, reason, len);
}

bool ctl_post_set_first_comment(ctl_post *p, json_t *v, char *reason, size_t len) {
    free(p->first_comment);
    p->first_comment = NULL;
    if (v == NULL || json_is_null(v)) return true;
    if (!json_is_string(v)) {
        snprintf(reason, len, "first_comment: expected a string");
        return false;
    }
    if (json_string_length(v) == 0) return true;
    if ((p->first_comment = strdup(json_string_value(v))) == NULL) {
        snprintf(reason, len, "out of memory");
        return false;
    }
    return true;
}

bool ctl_post_set_at(ctl_post *p, const char *at, char *reason, size_t len) {
    if (strcmp(at, "now") == 0) {
        p->at_now = true;
        return true;
    }
    if (ap_time_parse_rfc3339(at, &p->at_ms) != 0) {
        snprintf(reason, len,
                 "at: \"%.64s\" is not an RFC 3339 time (e.g. 2026-11-28T09:00:00Z) or \"now\"",
                 at);
        return false;
    }
    p->at_now = false;
    return true;
}

bool ctl_post_set_priority(ctl_post *p, const char *priority, char *reason, size_t len) {
    if (strcmp(priority, "normal") == 0 || strcmp(priority, "urgent") == 0) {
        p->urgent = priority[0] == 'u';
        return true;
    }
    snprintf(reason, len, "priority: \"%.32s\" is not one of normal, urgent", priority);
    return false;
}

bool ctl_post_set_format(ctl_post *p, const char *format, char *reason, size_t len) {
    if (*format != '\0' && ap_format_parse(format, &p->format)) return true;
    snprintf(reason, len, "format: \"%.32s\" is not one of feed, story, reel", format);
    return false;
}

bool ctl_reason_is_format(const char *reason) {
    static const char prefix[] = "not valid for ";
    if (strncmp(reason, prefix, sizeof(prefix) - 1) == 0) {
        const char *colon = strstr(reason, ": ");
        if (colon) reason = colon + 2;
    }
    return strncmp(reason, "format", 6) == 0;
}

bool ctl_reason_chain_field(const char *reason, char *field, size_t len) {
    static const char prefix[] = "not valid for ";
    if (strncmp(reason, prefix, sizeof(prefix) - 1) == 0) {
        const char *colon = strstr(reason, ": ");
        if (colon) reason = colon + 2;
    }
    if (strncmp(reason, "thread", 6) != 0 && strncmp(reason, "first_comment", 13) != 0)
        return false;
    size_t n = strcspn(reason, ":");
    if (n == 0 || n >= len || reason[n] != ':') return false;
    memcpy(field, reason, n);
    field[n] = '\0';
    return true;
}

bool ctl_post_set_deadline(ctl_post *p, const char *deadline, char *reason, size_t len) {
    int64_t ms = 0;
    if (ap_time_parse_rfc3339(deadline, &ms) != 0 || ms <= 0) {
        snprintf(reason, len,
                 "deadline: \"%.64s\" is not an RFC 3339 time (e.g. 2026-11-28T10:00:00Z)",
                 deadline);
        return false;
    }
    p->deadline_ms = ms;
    return true;
}

bool ctl_post_add_media(ctl_post *p, const char *url, const char *type, const char *alt,
                        char *reason, size_t len) {
    Autopost__V1__MediaType t;
    if (type == NULL || strcmp(type, "image") == 0)
        t = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
    else if (strcmp(type, "video") == 0)
        t = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
    else if (strcmp(type, "gif") == 0)
        t = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF;
    else if (strcmp(type, "document") == 0)
        t = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT;
    else {
        snprintf(reason, len, "media type \"%.32s\" is not image, video, gif or document", type);
        return false;
    }
    ctl_media *m = realloc(p->media, (p->nmedia + 1) * sizeof(*m));
    if (m == NULL) goto oom;
    p->media = m;
    m = &p->media[p->nmedia];
    m->type = t;
    m->url = strdup(url);
    m->alt_text = (alt && *alt) ? strdup(alt) : NULL;
    if (m->url == NULL || (alt && *alt && m->alt_text == NULL)) {
        free(m->url);
        free(m->alt_text);
        goto oom;
    }
    p->nmedia++;
    return true;
oom:
    snprintf(reason, len, "out of memory");
    return false;
}

bool ctl_url_ok(const char *url, const char *what, char *reason, size_t len) {
    switch (ap_url_check(url)) {
    case AP_URL_OK: return true;
    case AP_URL_BAD_SCHEME:
        snprintf(reason, len, "%s: only http:// and https:// URLs are allowed, got \"%.80s\"", what,
                 url);
        return false;
    case AP_URL_NO_HOST:
        snprintf(reason, len, "%s: URL \"%.80s\" has no host", what, url);
        return false;
    case AP_URL_TOO_LONG:
        snprintf(reason, len, "%s: URL longer than %d bytes", what, AP_URL_MAX);
        return false;
    case AP_URL_CONTROL_CHAR:
        snprintf(reason, len, "%s: URL contains a space or control character", what);
        return false;
    case AP_URL_NOT_UTF8: snprintf(reason, len, "%s: URL is not valid UTF-8", what); return false;
    }
    snprintf(reason, len, "%s: URL refused", what);
    return false;
}

static bool blank(const char *s) {
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') return false;
    return true;
}

/* A deadline before the post is due could never be met: refused, not
 * stored to expire at once. "now" is read from our clock (the database's
 * may differ by a skew; the scheduler expires such a row anyway). */
static bool deadline_ok(const ctl_post *p, char *reason, size_t len) {
    if (p->deadline_ms <= 0) return true;
    int64_t at = p->at_now ? ap_now_ms() : p->at_ms;
    if (p->deadline_ms >= at) return true;
    char d[40], a[40];
    ap_time_format_rfc3339(p->deadline_ms, d, sizeof(d));
    ap_time_format_rfc3339(at, a, sizeof(a));
    snprintf(reason, len, "deadline: %s is earlier than at (%s%s)", d, p->at_now ? "now, " : "", a);
    return false;
}

/* The rules on what a schedule publishes: the post's own content, and
 * each variant's as it replaces it. */
static bool content_ok(const ctl_post *p, char *reason, size_t len) {
    const char *text = p->text ? p->text : "";
    if (p->format != AP_FORMAT_FEED && p->nmedia == 0) {
        snprintf(reason, len, "format: a %s needs an image or a video", ap_format_name(p->format));
        return false;
    }
    if (blank(text) && p->link == NULL && p->nmedia == 0) {
        snprintf(reason, len, "content is empty: give text, a link or media");
        return false;
    }
    if (!ap_utf8_valid(text)) {
        snprintf(reason, len, "text is not valid UTF-8");
        return false;
    }
    if (p->link && !ctl_url_ok(p->link, "link", reason, len)) return false;
    if (p->nmedia > AP_MAX_MEDIA) {
        snprintf(reason, len, "too many media items: %zu (at most %d)", p->nmedia, AP_MAX_MEDIA);
        return false;
    }
    for (size_t i = 0; i < p->nmedia; i++) {
        char what[32];
        snprintf(what, sizeof(what), "media[%zu]", i);
        if (!ctl_url_ok(p->media[i].url, what, reason, len)) return false;
        if (p->media[i].alt_text && !ap_utf8_valid(p->media[i].alt_text)) {
            snprintf(reason, len, "%s: alt_text is not valid UTF-8", what);
            return false;
        }
    }
    return true;
}

bool ctl_post_check(const ctl_post *p, char *reason, size_t len) {
    if (!deadline_ok(p, reason, len) || !content_ok(p, reason, len)) return false;
    for (size_t i = 0; i < p->nvariants; i++) {
        ctl_post view = ctl_post_with_variant(p, &p->variants[i]);
        char why[400];
        if (!content_ok(&view, why, sizeof(why))) {
            snprintf(reason, len, "variants.%s: %s", p->variants[i].key, why);
            return false;
        }
    }
    return true;
}

/* "90s", "5m", "2h", "3d": the largest unit that divides ms exactly (a
 * configured limit, shown as written), or with exact == false the largest
 * unit that fits, rounded down (an age). */
static void format_duration(int64_t ms, bool exact, char *buf, size_t len) {
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ms >= units[i].ms && (!exact || ms % units[i].ms == 0)) {
            snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    snprintf(buf, len, "%lldms", (long long)ms);
}

bool ctl_post_check_at(const ctl_post *p, int64_t now_ms, int64_t max_past_ms, bool allow_past,
                       char *reason, size_t len) {
    /* A series has no at: ctl_recurrence_check asks for an occurrence to come. */
    if (p->recur_rrule || p->at_now || allow_past || p->at_ms >= now_ms - max_past_ms) return true;
    char at[40], ago[32], limit[32];
    ap_time_format_rfc3339(p->at_ms, at, sizeof(at));
    format_duration(now_ms - p->at_ms, false, ago, sizeof(ago));
    format_duration(max_past_ms, true, limit, sizeof(limit));
    snprintf(reason, len,
             "at: %s is %s in the past, more than scheduler.max_past (%s): it would be published "
             "at once",
             at, ago, limit);
    return false;
}

/* ---- JSON Lines records ------------------------------------------------- */

static bool json_media(ctl_post *p, json_t *arr, char *reason, size_t len) {
    if (json_is_null(arr)) return true;
    if (!json_is_array(arr)) {
        snprintf(reason, len, "media: expected an array of objects");
        return false;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        if (!json_is_object(item)) {
            snprintf(reason, len, "media[%zu]: expected an object with url, type, alt_text", i);
            return false;
        }
        const char *url = NULL, *type = NULL, *alt = NULL, *key;
        json_t *v;
        json_object_foreach(item, key, v) {
            const char **dst = strcmp(key, "url") == 0        ? &url
                               : strcmp(key, "type") == 0     ? &type
                               : strcmp(key, "alt_text") == 0 ? &alt
                                                              : NULL;
            if (dst == NULL) {
                snprintf(reason, len, "media[%zu]: unknown key \"%.40s\"", i, key);
                return false;
            }
            if (json_is_null(v) && dst != &url) continue;
            if (!json_is_string(v)) {
                snprintf(reason, len, "media[%zu].%s: expected a string", i, key);
                return false;
            }
            *dst = json_string_value(v);
        }
        if (url == NULL) {
            snprintf(reason, len, "media[%zu]: url is missing", i);
            return false;
        }
        char why[256];
        if (!ctl_post_add_media(p, url, type, alt, why, sizeof(why))) {
            snprintf(reason, len, "media[%zu]: %s", i, why);
            return false;
        }
    }
    return true;
}

/* Copies a string member; `nullable` lets JSON null stand for "none". */
static bool json_str(json_t *v, const char *key, bool nullable, char **dst, char *reason,
                     size_t len) {
    if (nullable && json_is_null(v)) return true;
    if (!json_is_string(v)) {
        snprintf(reason, len, "%s: expected a string", key);
        return false;
    }
    free(*dst);
    *dst = strdup(json_string_value(v));
    if (*dst == NULL) {
        snprintf(reason, len, "out of memory");
        return false;
    }
    return true;
}

bool ctl_recurrence_check(const char *rrule, const char *tz, const char *start,
                          int64_t min_interval_ms, int64_t now_ms, const char **field, char *reason,
                          size_t len) {
    ap_recur *r = NULL;
    ap_recur_error why = {0};
    ap_status s = ap_recur_new(&r, rrule, tz, start, min_interval_ms / 1000, &why);
    if (s != AP_OK) {
        *field = s == AP_EINVAL ? (why.field ? why.field : "rrule") : NULL;
        snprintf(reason, len, "%s", s == AP_EINVAL ? why.reason : "out of memory");
        return false;
    }
    int64_t next;
    bool ahead = now_ms <= 0 || ap_recur_next(r, now_ms, &next, 1) == 1;
    ap_recur_free(r);
    if (!ahead) {
        *field = "start";
        snprintf(reason, len, "the rule has no occurrence after now (COUNT or UNTIL ended it)");
    }
    return ahead;
}

/* "recurrence": exactly {rrule, tz, start}, all strings, that ap_recur
 * accepts (the bounds that need the config or the clock come later). */
static bool json_recurrence(ctl_post *p, json_t *v, char *reason, size_t len) {
    static const char *const names[] = {"rrule", "tz", "start"};
    char **dst[] = {&p->recur_rrule, &p->recur_tz, &p->recur_start};
    const char *key;
    json_t *item;
    if (!json_is_object(v)) {
        snprintf(reason, len, "recurrence: expected an object {rrule, tz, start}");
        return false;
    }
    json_object_foreach(v, key, item) {
        size_t k = 0;
        while (k < 3 && strcmp(key, names[k]) != 0) k++;
        if (k == 3) {
            snprintf(reason, len, "recurrence: unknown key \"%.40s\" (known: rrule, tz, start)",
                     key);
            return false;
        }
        if (!json_is_string(item)) {
            snprintf(reason, len, "recurrence.%s: expected a string", names[k]);
            return false;
        }
        if ((*dst[k] = strdup(json_string_value(item))) == NULL) {
            snprintf(reason, len, "out of memory");
            return false;
        }
    }
    for (size_t k = 0; k < 3; k++)
        if (*dst[k] == NULL) {
            snprintf(reason, len, "recurrence.%s is missing", names[k]);
            return false;
        }
    const char *field = NULL;
    char why[200];
    if (ctl_recurrence_check(p->recur_rrule, p->recur_tz, p->recur_start, 0, 0, &field, why,
                             sizeof(why)))
        return true;
    snprintf(reason, len, "recurrence%s%s: %s", field ? "." : "", field ? field : "", why);
    return false;
}

static bool json_record(ctl_post *p, json_t *root, char *reason, size_t len) {
    const char *key;
    json_t *v;
    bool have_account = false, have_at = false, have_recurrence = false;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "account_id") == 0) {
            if (!json_is_string(v) || !ap_uuid_normalize(json_string_value(v), p->account_id)) {
                snprintf(reason, len, "account_id: expected a UUID string");
                return false;
            }
            have_account = true;
        } else if (strcmp(key, "at") == 0) {
            if (!json_is_string(v)) {
                snprintf(reason, len, "at: expected an RFC 3339 string");
                return false;
            }
            if (!ctl_post_set_at(p, json_string_value(v), reason, len)) return false;
            have_at = true;
        } else if (strcmp(key, "deadline") == 0) {
            if (json_is_null(v)) continue;
            if (!json_is_string(v)) {
                snprintf(reason, len, "deadline: expected an RFC 3339 string");
                return false;
            }
            if (!ctl_post_set_deadline(p, json_string_value(v), reason, len)) return false;
        } else if (strcmp(key, "text") == 0) {
            if (!json_str(v, key, false, &p->text, reason, len)) return false;
        } else if (strcmp(key, "link") == 0) {
            if (!json_str(v, key, true, &p->link, reason, len)) return false;
        } else if (strcmp(key, "media") == 0) {
            if (!json_media(p, v, reason, len)) return false;
        } else if (strcmp(key, "recurrence") == 0) {
            if (!json_recurrence(p, v, reason, len)) return false;
            have_recurrence = true;
        } else if (strcmp(key, "priority") == 0) {
            if (!json_is_string(v)) {
                snprintf(reason, len, "priority: expected \"normal\" or \"urgent\"");
                return false;
            }
            if (!ctl_post_set_priority(p, json_string_value(v), reason, len)) return false;
        } else if (strcmp(key, "format") == 0) {
            if (json_is_null(v)) continue;
            if (!json_is_string(v)) {
                snprintf(reason, len, "format: expected \"feed\", \"story\" or \"reel\"");
                return false;
            }
            if (!ctl_post_set_format(p, json_string_value(v), reason, len)) return false;
        } else if (strcmp(key, "variants") == 0) {
            char field[128], why[400];
            if (!ctl_post_set_variants(p, v, field, sizeof(field), why, sizeof(why))) {
                snprintf(reason, len, "%s: %s", field, why);
                return false;
            }
        } else if (strcmp(key, "thread") == 0) {
            if (!ctl_post_set_thread(p, v, reason, len)) return false;
        } else if (strcmp(key, "first_comment") == 0) {
            if (!ctl_post_set_first_comment(p, v, reason, len)) return false;
        } else {
            snprintf(reason, len,
                     "unknown key \"%.40s\" (known: account_id, at, deadline, recurrence, text, "
                     "link, media, priority, format, variants, thread, first_comment)",
                     key);
            return false;
        }
    }
    if (have_at && have_recurrence) {
        snprintf(reason, len, "give either at or recurrence, not both");
        return false;
    }
    if (have_recurrence && (p->thread.n > 0 || p->first_comment)) {
        snprintf(reason, len,
                 "thread: a recurring post is one message (no thread or first "
                 "comment)");
        return false;
    }
    if (have_recurrence && p->urgent) {
        snprintf(reason, len, "priority: a recurring post cannot be urgent");
        return false;
    }
    if (have_recurrence && p->deadline_ms > 0) {
        snprintf(reason, len,
                 "deadline: a recurring post has no single deadline (its occurrences follow "
                 "platforms.<p>.max_lateness)");
        return false;
    }
    if (!have_account) {
        snprintf(reason, len, "account_id is missing");
        return false;
    }
    char field[128], why[400];
    if (!ctl_post_check_variant_keys(p, (const char(*)[37]) & p->account_id, 1, field,
                                     sizeof(field), why, sizeof(why))) {
        snprintf(reason, len, "%s: %s", field, why);
        return false;
    }
    if (!have_at && !have_recurrence) {
        snprintf(reason, len, "at is missing (or give recurrence)");
        return false;
    }
    return true;
}

bool ctl_post_from_json(ctl_post *p, const char *line, size_t len, char *reason, size_t rlen) {
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(reason, rlen, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        return false;
    }
    bool ok = false;
    if (!json_is_object(root)) {
        snprintf(reason, rlen, "expected a JSON object");
        goto cleanup;
    }
    if (!json_record(p, root, reason, rlen)) goto cleanup;
    if (p->text == NULL && (p->text = strdup("")) == NULL) {
        snprintf(reason, rlen, "out of memory");
        goto cleanup;
    }
    ok = ctl_post_check(p, reason, rlen);
cleanup:
    json_decref(root);
    return ok;
}

/* ---- platform rules ----------------------------------------------------- */

static bool validate_content(const ctl_post *p, const char *platform, const char *external_id,
                             char *reason, size_t len) {
    const ap_adapter *adapter = ap_adapter_find(platform);
    if (adapter == NULL || adapter->validate == NULL) {
        snprintf(reason, len, "no publisher adapter for platform \"%s\"", platform);
        return false;
    }
    if (p->nmedia > AP_MAX_MEDIA) {
        snprintf(reason, len, "too many media items: %zu (at most %d)", p->nmedia, AP_MAX_MEDIA);
        return false;
    }
    /* The job lives on the stack and borrows the post's strings: protobuf-c
     * wants char *, but validate() takes it const and never writes. */
    Autopost__V1__Media media[AP_MAX_MEDIA];
    Autopost__V1__Media *media_ptrs[AP_MAX_MEDIA];
    for (size_t i = 0; i < p->nmedia; i++) {
        autopost__v1__media__init(&media[i]);
        media[i].url = p->media[i].url;
        media[i].type = p->media[i].type;
        media[i].alt_text = p->media[i].alt_text ? p->media[i].alt_text : "";
        media_ptrs[i] = &media[i];
    }
    ap_job job;
    autopost__v1__publish_job__init(&job);
    job.schedule_id = CTL_PLACEHOLDER_UUID;
    job.generation = 1;
    job.post_id = CTL_PLACEHOLDER_UUID;
    job.account_id = (char *)p->account_id;
    job.platform = (char *)platform;
    job.text = p->text ? p->text : "";
    job.link = p->link ? p->link : "";
    job.media = p->nmedia ? media_ptrs : NULL;
    job.n_media = p->nmedia;
    job.scheduled_at_ms = p->at_now ? ap_now_ms() : p->at_ms;
    job.account_external_id = (char *)(external_id ? external_id : "");
    job.format = p->format == AP_FORMAT_FEED ? "" : (char *)ap_format_name(p->format);
    ap_thread_attach(&p->thread, &job);
    job.first_comment = p->first_comment ? p->first_comment : "";
    char why[512] = "";
    if (!adapter->validate(&job, why, sizeof(why))) {
        snprintf(reason, len, "not valid for %s: %s", platform, *why ? why : "rejected");
        return false;
    }
    return true;
}

/* Validates what the schedule on p->account_id will publish: its variant
 * when one applies, named in the reason. */
bool ctl_post_validate_platform(const ctl_post *p, const char *platform, const char *external_id,
                                char *reason, size_t len) {
    const ctl_variant *v = ctl_post_variant_for(p, p->account_id, platform);
    if (v == NULL) return validate_content(p, platform, external_id, reason, len);
    ctl_post view = ctl_post_with_variant(p, v);
    char why[600];
    if (validate_content(&view, platform, external_id, why, sizeof(why))) return true;
    snprintf(reason, len, "variants.%s: %s", v->key, why);
    return false;
}

bool ctl_account_usable(const char *account_id, const char *status, const char *status_reason,
                        char *reason, size_t len) {
    if (strcmp(status, "active") == 0) return true;
    const char *why = (status_reason && *status_reason) ? status_reason : NULL;
    if (strcmp(status, "reauth_required") == 0)
        snprintf(reason, len, "account %s needs re-authorisation (reauth_required%s%s)", account_id,
                 why ? ": " : "", why ? why : "");
    else
        snprintf(reason, len, "account %s is %s%s%s", account_id, status, why ? ": " : "",
                 why ? why : "");
    return false;
}

char *ctl_post_media_json(const ctl_post *p) {
    json_t *arr = json_array();
    if (arr == NULL) return NULL;
    for (size_t i = 0; i < p->nmedia; i++) {
        const ctl_media *m = &p->media[i];
        json_t *o =
            json_pack("{s:s, s:s, s:s}", "url", m->url, "type",
                      m->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO      ? "video"
                      : m->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF      ? "gif"
                      : m->type == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_DOCUMENT ? "document"
                                                                                 : "image",
                      "alt_text", m->alt_text ? m->alt_text : "");
        if (o != NULL && i == 0 && p->format != AP_FORMAT_FEED &&
            json_object_set_new(o, AP_FORMAT_MEDIA_KEY, json_string(ap_format_name(p->format))) !=
                0) {
            json_decref(o);
            o = NULL;
        }
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *out = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(arr);
    return out;
}

json_t *ctl_post_media_from_json(const char *stored, ap_format *format) {
    *format = AP_FORMAT_FEED;
    json_t *arr = json_loads(stored, 0, NULL);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return NULL;
    }
    json_t *first = json_array_get(arr, 0);
    json_t *f = json_object_get(first, AP_FORMAT_MEDIA_KEY);
    if (json_is_string(f) && !ap_format_parse(json_string_value(f), format))
        *format = AP_FORMAT_FEED;
    if (f != NULL) json_object_del(first, AP_FORMAT_MEDIA_KEY);
    return arr;
}

/* ---- COPY text format --------------------------------------------------- */

bool ctl_copy_field(ap_buf *b, const char *s, char sep) {
    if (s == NULL) {
        if (!ap_buf_append(b, "\\N", 2)) return false;
    } else {
        /* Copy runs of plain bytes at once; escape only what COPY treats
         * specially in text format. */
        const char *run = s;
        for (const char *c = s;; c++) {
            const char *esc = NULL;
            switch (*c) {
            case '\\': esc = "\\\\"; break;
            case '\t': esc = "\\t"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\0': break;
            default: continue;
            }
            if (!ap_buf_append(b, run, (size_t)(c - run))) return false;
            if (*c == '\0') break;
            if (!ap_buf_append(b, esc, 2)) return false;
            run = c + 1;
        }
    }
    return ap_buf_append(b, &sep, 1);
}
