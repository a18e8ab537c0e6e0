/* post_request.c -- the body of POST /v1/posts, decoded strictly:
 *
 *   {"account_ids": ["<uuid>", ...], "text": "...", "link": "https://...",
 *    "media": [{"url": "...", "type": "image|video|gif|document", "alt_text": "..."}],
 *    "at": "<RFC 3339>",            (at omitted or "now" = now)
 *    "priority": "normal|urgent",   (omitted: normal; README "Urgent lane")
 *    "format": "feed|story|reel",   (omitted: feed; README "Formats")
 *    "deadline": "<RFC 3339>",      (optional, not before at; README "Deadlines")
 *    "variants": {"<platform or account id>": {"text", "media"}},  (README "Variants")
 *    "thread": [{"text", "media"?}],  (X and Threads; README "Threads and first comments")
 *    "first_comment": "..."}        (a reply to the post once it is live)
 *   or, instead of "at", a series (README "Recurring posts"):
 *    "recurrence": {"rrule": "FREQ=DAILY;COUNT=3", "tz": "Asia/Ho_Chi_Minh",
 *                   "start": "2027-03-13T09:00:00"}
 *
 * Unknown keys, wrong types, duplicate keys and duplicate accounts are
 * refused with the field that is wrong. The post itself is autopostctl's
 * post model (ctl/ctl_post.h): the same setters and the same
 * ctl_post_check, so a post the API accepts is one `autopostctl import`
 * would accept, and the per-platform rules run later in posts.c through the
 * same ctl_post_validate_platform. Nothing here does I/O, which is what
 * lets tests/fuzz/fuzz_api_post_request.c hammer it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_recur.h"
#include "api.h"
#include "ctl_post.h"

/* The field a ctl_post reason is about: its text up to ": " when that is
 * a field path (media[0], link, at), else "body". */
static void reason_field(const char *reason, char *field, size_t len) {
    size_t n = strcspn(reason, ": ");
    bool path = n > 0 && n < len && reason[n] == ':';
    for (size_t i = 0; path && i < n; i++)
        path = strchr("abcdefghijklmnopqrstuvwxyz_[]0123456789.-", reason[i]) != NULL;
    if (!path) {
        snprintf(field, len, "body");
        return;
    }
    memcpy(field, reason, n);
    field[n] = '\0';
}

static api_reply invalid(const char *field, const char *reason) {
    api_reply r = api_error(422, "validation_failed", "the post is not valid: %s", reason);
    api_error_detail(&r, field, reason);
    return r;
}

static bool decode_accounts(api_post_request *pr, json_t *v, api_reply *err) {
    if (!json_is_array(v) || json_array_size(v) == 0) {
        *err = invalid("account_ids", "expected a non-empty array of account ids");
        return false;
    }
    if (json_array_size(v) > API_MAX_ACCOUNTS) {
        char why[96];
        snprintf(why, sizeof(why), "at most %d accounts per post", API_MAX_ACCOUNTS);
        *err = invalid("account_ids", why);
        return false;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        char field[48];
        snprintf(field, sizeof(field), "account_ids[%zu]", i);
        char *dst = pr->account_ids[pr->naccounts];
        if (!json_is_string(item) || !ap_uuid_normalize(json_string_value(item), dst)) {
            *err = invalid(field, "expected an account id (a UUID)");
            return false;
        }
        for (size_t j = 0; j < pr->naccounts; j++)
            if (strcmp(pr->account_ids[j], dst) == 0) {
                *err = invalid(field, "account listed twice");
                return false;
            }
        pr->naccounts++;
    }
    return true;
}

static bool decode_string(json_t *v, const char *field, bool nullable, char **dst, api_reply *err) {
    if (nullable && json_is_null(v)) return true;
    if (!json_is_string(v)) {
        *err = invalid(field, "expected a string");
        return false;
    }
    free(*dst);
    if ((*dst = strdup(json_string_value(v))) == NULL) {
        *err = api_error(500, "internal", "out of memory");
        return false;
    }
    return true;
}

static bool decode_media(ctl_post *p, json_t *arr, api_reply *err) {
    if (json_is_null(arr)) return true;
    if (!json_is_array(arr)) {
        *err = invalid("media", "expected an array of {url, type, alt_text}");
        return false;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        char field[48], why[300];
        snprintf(field, sizeof(field), "media[%zu]", i);
        const char *url = NULL, *type = NULL, *alt = NULL, *key;
        json_t *v;
        if (!json_is_object(item)) {
            *err = invalid(field, "expected an object with url, type, alt_text");
            return false;
        }
        json_object_foreach(item, key, v) {
            const char **dst = strcmp(key, "url") == 0        ? &url
                               : strcmp(key, "type") == 0     ? &type
                               : strcmp(key, "alt_text") == 0 ? &alt
                                                              : NULL;
            if (dst == NULL) {
                snprintf(why, sizeof(why), "unknown key \"%.40s\"", key);
                *err = invalid(field, why);
                return false;
            }
            if (json_is_null(v) && dst != &url) continue;
            if (!json_is_string(v)) {
                snprintf(field, sizeof(field), "media[%zu].%s", i, key);
                *err = invalid(field, "expected a string");
                return false;
            }
            *dst = json_string_value(v);
        }
        if (url == NULL) {
            snprintf(field, sizeof(field), "media[%zu].url", i);
            *err = invalid(field, "missing");
            return false;
        }
        if (!ctl_post_add_media(p, url, type, alt, why, sizeof(why))) {
            snprintf(field, sizeof(field), "media[%zu].type", i);
            *err = invalid(field, why);
            return false;
        }
    }
    return true;
}

/* "recurrence": an object of exactly rrule, tz and start, all strings,
 * that ap_recur accepts (min_interval_ms 0: the bound needs the config). */
static bool decode_recurrence(api_post_request *pr, json_t *v, api_reply *err) {
    if (!json_is_object(v)) {
        *err = invalid("recurrence", "expected an object {rrule, tz, start}");
        return false;
    }
    static const char *const names[] = {"rrule", "tz", "start"};
    char **dst[] = {&pr->recur_rrule, &pr->recur_tz, &pr->recur_start};
    const char *key;
    json_t *item;
    json_object_foreach(v, key, item) {
        size_t k = 0;
        while (k < 3 && strcmp(key, names[k]) != 0) k++;
        char field[64], why[96];
        if (k == 3) {
            snprintf(why, sizeof(why), "unknown key \"%.40s\" (known: rrule, tz, start)", key);
            *err = invalid("recurrence", why);
            return false;
        }
        snprintf(field, sizeof(field), "recurrence.%s", names[k]);
        if (!decode_string(item, field, false, dst[k], err)) return false;
    }
    for (size_t k = 0; k < 3; k++)
        if (*dst[k] == NULL) {
            char field[64];
            snprintf(field, sizeof(field), "recurrence.%s", names[k]);
            *err = invalid(field, "missing");
            return false;
        }
    return api_recurrence_check(pr, 0, 0, err);
}

bool api_recurrence_check(const api_post_request *pr, int64_t min_interval_ms, int64_t now_ms,
                          api_reply *err) {
    if (pr->recur_rrule == NULL) return true;
    const char *at = NULL;
    char why[200], field[64];
    if (ctl_recurrence_check(pr->recur_rrule, pr->recur_tz, pr->recur_start, min_interval_ms,
                             now_ms, &at, why, sizeof(why)))
        return true;
    if (at == NULL) {
        *err = api_error(500, "internal", "out of memory");
        return false;
    }
    snprintf(field, sizeof(field), "recurrence.%s", at);
    *err = invalid(field, why);
    return false;
}

/* "variants" (README "Variants"): its keys are checked once the accounts
 * are known. Reasons start with the field, as ctl_post's do. */
static bool variant_invalid(const char *field, const char *why, api_reply *err) {
    char reason[600];
    /* A reason cut at 600 bytes still names the field first. */
    int n = snprintf(reason, sizeof(reason), "%s: %s", field, why);
    if (n < 0) snprintf(reason, sizeof(reason), "%s", field);
    *err = strcmp(why, "out of memory") == 0 ? api_error(500, "internal", "out of memory")
                                             : invalid(field, reason);
    return false;
}

static bool decode_variants(ctl_post *p, json_t *v, api_reply *err) {
    char field[128], why[400];
    if (ctl_post_set_variants(p, v, field, sizeof(field), why, sizeof(why))) return true;
    return variant_invalid(field, why, err);
}

static bool decode_member(api_post_request *pr, const char *key, json_t *v, api_reply *err) {
    ctl_post *p = pr->post;
    char why[300];
    if (strcmp(key, "account_ids") == 0) return decode_accounts(pr, v, err);
    if (strcmp(key, "text") == 0) return decode_string(v, "text", false, &p->text, err);
    if (strcmp(key, "link") == 0) return decode_string(v, "link", true, &p->link, err);
    if (strcmp(key, "media") == 0) return decode_media(p, v, err);
    if (strcmp(key, "recurrence") == 0) return decode_recurrence(pr, v, err);
    if (strcmp(key, "variants") == 0) return decode_variants(p, v, err);
    if (strcmp(key, "priority") == 0) {
        if (json_is_null(v)) return true;
        if (!json_is_string(v)) {
            *err = invalid("priority", "expected \"normal\" or \"urgent\"");
            return false;
        }
        if (!ctl_post_set_priority(p, json_string_value(v), why, sizeof(why))) {
            *err = invalid("priority", why);
            return false;
        }
        return true;
    }
    if (strcmp(key, "format") == 0) {
        if (json_is_null(v)) return true;
        if (!json_is_string(v)) {
            *err = invalid("format", "expected \"feed\", \"story\" or \"reel\"");
            return false;
        }
        if (!ctl_post_set_format(p, json_string_value(v), why, sizeof(why))) {
            *err = invalid("format", why);
            return false;
        }
        return true;
    }
    if (strcmp(key, "deadline") == 0) {
        if (json_is_null(v)) return true;
        if (!json_is_string(v)) {
            *err = invalid("deadline", "expected an RFC 3339 time, e.g. 2026-11-28T10:00:00Z");
            return false;
        }
        if (!ctl_post_set_deadline(p, json_string_value(v), why, sizeof(why))) {
            *err = invalid("deadline", why);
            return false;
        }
        return true;
    }
    if (strcmp(key, "thread") == 0 || strcmp(key, "first_comment") == 0) {
        bool ok = key[0] == 't' ? ctl_post_set_thread(p, v, why, sizeof(why))
                                : ctl_post_set_first_comment(p, v, why, sizeof(why));
        char field[64];
        if (!ok && !ctl_reason_chain_field(why, field, sizeof(field)))
            snprintf(field, sizeof(field), "%s", key);
        if (!ok) *err = invalid(field, why);
        return ok;
    }
    if (strcmp(key, "at") == 0) {
        if (json_is_null(v)) return true;
        pr->at_given = true;
        if (!json_is_string(v)) {
            *err = invalid("at", "expected an RFC 3339 time, e.g. 2026-11-28T09:00:00Z");
            return false;
        }
        if (!ctl_post_set_at(p, json_string_value(v), why, sizeof(why))) {
            *err = invalid("at", why);
            return false;
        }
        return true;
    }
    snprintf(why, sizeof(why),
             "unknown key \"%.40s\" (known: account_ids, text, link, media, at, deadline, "
             "recurrence, priority, format, variants, thread, first_comment)",
             key);
    *err = invalid(key[0] && strlen(key) < 64 ? key : "body", why);
    return false;
}

bool api_post_request_decode(api_post_request *pr, const char *body, size_t len, api_reply *err) {
    memset(pr, 0, sizeof(*pr));
    if ((pr->post = calloc(1, sizeof(ctl_post))) == NULL) {
        *err = api_error(500, "internal", "out of memory");
        return false;
    }
    ctl_post_init(pr->post);
    pr->post->at_now = true; /* "at" omitted: now */
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        *err = api_error(400, "invalid_json", "the body is not JSON: %s (line %d, column %d)",
                         jerr.text, jerr.line, jerr.column);
        return false;
    }
    bool ok = false;
    const char *key;
    json_t *v;
    if (!json_is_object(root)) {
        *err = invalid("body", "expected a JSON object");
        goto cleanup;
    }
    json_object_foreach(root, key, v) {
        if (!decode_member(pr, key, v, err)) goto cleanup;
    }
    if (pr->post->urgent && pr->recur_rrule != NULL) {
        *err = invalid("priority", "a recurring post is normal: urgent is for one-off posts");
        goto cleanup;
    }
    if (pr->at_given && pr->recur_rrule != NULL) {
        *err = invalid("recurrence", "give either \"at\" or \"recurrence\", not both");
        goto cleanup;
    }
    if (pr->post->deadline_ms > 0 && pr->recur_rrule != NULL) {
        *err = invalid("deadline", "a recurring post has no single deadline (its occurrences "
                                   "are bounded by platforms.<p>.max_lateness and "
                                   "scheduler.recurrence_grace)");
        goto cleanup;
    }
    if (pr->recur_rrule != NULL && (pr->post->thread.n > 0 || pr->post->first_comment)) {
        *err = invalid(pr->post->thread.n > 0 ? "thread" : "first_comment",
                       "a recurring post is one message (no thread or first comment)");
        goto cleanup;
    }
    if (pr->naccounts == 0) {
        *err = invalid("account_ids", "missing: give at least one account id");
        goto cleanup;
    }
    if (pr->post->text == NULL && (pr->post->text = strdup("")) == NULL) {
        *err = api_error(500, "internal", "out of memory");
        goto cleanup;
    }
    char why[512], field[128];
    if (!ctl_post_check_variant_keys(pr->post, (const char(*)[37])pr->account_ids, pr->naccounts,
                                     field, sizeof(field), why, sizeof(why))) {
        variant_invalid(field, why, err);
        goto cleanup;
    }
    if (!ctl_post_check(pr->post, why, sizeof(why))) {
        reason_field(why, field, sizeof(field));
        *err = invalid(field, why);
        goto cleanup;
    }
    ok = true;
cleanup:
    json_decref(root);
    return ok;
}

void api_post_request_free(api_post_request *pr) {
    if (pr == NULL) return;
    free(pr->recur_rrule);
    free(pr->recur_tz);
    free(pr->recur_start);
    pr->recur_rrule = pr->recur_tz = pr->recur_start = NULL;
    if (pr->post == NULL) return;
    ctl_post_free(pr->post);
    free(pr->post);
    pr->post = NULL;
}
