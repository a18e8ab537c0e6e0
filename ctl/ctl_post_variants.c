/* ctl_post_variants.c -- a post's per-platform and per-account variants
 * (README "Variants"; the rule is in ctl_post.h).
 *
 * Where they live: posts.variants (jsonb, 0027), keyed as given, each
 * media array in posts.media's own shape (the format on the first item),
 * and the scheduler resolves a schedule's variant when it builds the job
 * (claim_*.sql, 0027's autopost_post_variant). Not per-schedule columns:
 * a recurring series' occurrences are made later by the scheduler from the
 * posts row alone, so only the post can give every occurrence of an
 * account the same variant; and the claim reads the posts row of each
 * claimed schedule anyway, so the resolution is one jsonb lookup per job
 * on the rows already picked (NULL for a post without variants), nothing
 * in the window or admission part of the claim.
 *
 * Nothing here does I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_platforms.h"
#include "ctl_post.h"

static void variant_free(ctl_variant *v) {
    free(v->key);
    free(v->text);
    for (size_t i = 0; i < v->nmedia; i++) {
        free(v->media[i].url);
        free(v->media[i].alt_text);
    }
    free(v->media);
}

void ctl_post_variants_free(ctl_post *p) {
    for (size_t i = 0; i < p->nvariants; i++) variant_free(&p->variants[i]);
    free(p->variants);
    p->variants = NULL;
    p->nvariants = 0;
}

/* An account id key is stored normalised, so "ABC..." and "abc..." are one
 * key and match the account's id as the database writes it. */
static bool normal_key(const char *key, char *out, size_t len) {
    char uuid[37];
    if (ap_uuid_normalize(key, uuid)) key = uuid;
    return (size_t)snprintf(out, len, "%s", key) < len;
}

/* A new, empty variant for key; NULL (reason set) when the key is too
 * long, given twice or out of memory. */
static ctl_variant *variant_new(ctl_post *p, const char *key, char *field, size_t flen,
                                char *reason, size_t len) {
    char norm[80];
    if (*key == '\0' || !normal_key(key, norm, sizeof(norm))) {
        snprintf(field, flen, "variants");
        snprintf(reason, len, "a key must be a platform name or an account id");
        return NULL;
    }
    snprintf(field, flen, "variants.%s", norm);
    for (size_t i = 0; i < p->nvariants; i++)
        if (strcmp(p->variants[i].key, norm) == 0) {
            snprintf(reason, len, "given twice");
            return NULL;
        }
    ctl_variant *all = realloc(p->variants, (p->nvariants + 1) * sizeof(*all));
    if (all == NULL) goto oom;
    p->variants = all;
    ctl_variant *v = &all[p->nvariants];
    memset(v, 0, sizeof(*v));
    if ((v->key = strdup(norm)) == NULL) goto oom;
    p->nvariants++;
    return v;
oom:
    snprintf(reason, len, "out of memory");
    return NULL;
}

/* One media item of a variant, through the post's own ctl_post_add_media
 * (on a scratch post whose array the variant then takes over). */
static bool variant_media(ctl_variant *v, json_t *arr, char *field, size_t flen, char *reason,
                          size_t len) {
    size_t base = strlen(field);
    if (!json_is_array(arr)) {
        snprintf(field + base, flen - base, ".media");
        snprintf(reason, len, "expected an array of {url, type, alt_text}");
        return false;
    }
    ctl_post scratch;
    ctl_post_init(&scratch);
    bool ok = true;
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        snprintf(field + base, flen - base, ".media[%zu]", i);
        const char *url = NULL, *type = NULL, *alt = NULL, *key;
        json_t *m;
        if (!json_is_object(item)) {
            snprintf(reason, len, "expected an object with url, type, alt_text");
            ok = false;
            break;
        }
        json_object_foreach(item, key, m) {
            const char **dst = strcmp(key, "url") == 0        ? &url
                               : strcmp(key, "type") == 0     ? &type
                               : strcmp(key, "alt_text") == 0 ? &alt
                                                              : NULL;
            if (dst == NULL) {
                snprintf(reason, len, "unknown key \"%.40s\" (known: url, type, alt_text)", key);
                ok = false;
                break;
            }
            if (json_is_null(m) && dst != &url) continue;
            if (!json_is_string(m)) {
                snprintf(field + base, flen - base, ".media[%zu].%s", i, key);
                snprintf(reason, len, "expected a string");
                ok = false;
                break;
            }
            *dst = json_string_value(m);
        }
        if (!ok) break;
        char why[300];
        if (url == NULL || !ctl_url_ok(url, "url", why, sizeof(why))) {
            snprintf(field + base, flen - base, ".media[%zu].url", i);
            /* ctl_url_ok's reason starts "url: "; the field says that. */
            snprintf(reason, len, "%s", url == NULL ? "missing" : why + strlen("url: "));
            ok = false;
            break;
        }
        if (!ctl_post_add_media(&scratch, url, type, alt, reason, len)) {
            snprintf(field + base, flen - base, ".media[%zu].type", i);
            ok = false;
            break;
        }
    }
    if (ok) field[base] = '\0';
    v->media = scratch.media;
    v->nmedia = scratch.nmedia;
    v->has_media = true;
    return ok;
}

bool ctl_post_set_variants(ctl_post *p, json_t *v, char *field, size_t flen, char *reason,
                           size_t len) {
    snprintf(field, flen, "variants");
    if (json_is_null(v)) return true;
    if (!json_is_object(v)) {
        snprintf(reason, len, "expected an object keyed by platform name or account id");
        return false;
    }
    const char *key;
    json_t *entry;
    json_object_foreach(v, key, entry) {
        ctl_variant *var = variant_new(p, key, field, flen, reason, len);
        if (var == NULL) return false;
        if (!json_is_object(entry) || json_object_size(entry) == 0) {
            snprintf(reason, len, "expected an object with text and/or media");
            return false;
        }
        const char *k;
        json_t *item;
        size_t base = strlen(field);
        json_object_foreach(entry, k, item) {
            if (strcmp(k, "media") == 0) {
                if (!variant_media(var, item, field, flen, reason, len)) return false;
            } else if (strcmp(k, "text") == 0) {
                if (!json_is_string(item)) {
                    snprintf(field + base, flen - base, ".text");
                    snprintf(reason, len, "expected a string");
                    return false;
                }
                if ((var->text = strdup(json_string_value(item))) == NULL) {
                    snprintf(reason, len, "out of memory");
                    return false;
                }
            } else {
                snprintf(reason, len, "unknown key \"%.40s\" (known: text, media)", k);
                return false;
            }
        }
    }
    return true;
}

bool ctl_post_add_variant_text(ctl_post *p, const char *key, const char *text, char *reason,
                               size_t len) {
    char field[128], why[200];
    ctl_variant *v = variant_new(p, key, field, sizeof(field), why, sizeof(why));
    if (v != NULL && (v->text = strdup(text)) != NULL) return true;
    snprintf(reason, len, "%s: %s", field, v ? "out of memory" : why);
    return false;
}

bool ctl_post_check_variant_keys(const ctl_post *p, const char (*account_ids)[37], size_t n,
                                 char *field, size_t flen, char *reason, size_t len) {
    for (size_t i = 0; i < p->nvariants; i++) {
        const char *key = p->variants[i].key;
        bool known = ap_platform_info_find(key) != NULL;
        for (size_t j = 0; !known && j < n; j++) known = strcmp(account_ids[j], key) == 0;
        if (known) continue;
        snprintf(field, flen, "variants.%.80s", key);
        snprintf(reason, len, "not a platform name or one of the post's account ids");
        return false;
    }
    return true;
}

const ctl_variant *ctl_post_variant_for(const ctl_post *p, const char *account_id,
                                        const char *platform) {
    const ctl_variant *by_platform = NULL;
    for (size_t i = 0; i < p->nvariants; i++) {
        if (strcmp(p->variants[i].key, account_id) == 0) return &p->variants[i];
        if (strcmp(p->variants[i].key, platform) == 0) by_platform = &p->variants[i];
    }
    return by_platform;
}

ctl_post ctl_post_with_variant(const ctl_post *p, const ctl_variant *v) {
    ctl_post view = *p;
    view.variants = NULL;
    view.nvariants = 0;
    if (v == NULL) return view;
    if (v->text) view.text = v->text;
    if (v->has_media) {
        view.media = v->media;
        view.nmedia = v->nmedia;
    }
    return view;
}

bool ctl_post_variants_json(const ctl_post *p, char **out) {
    *out = NULL;
    if (p->nvariants == 0) return true;
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < p->nvariants; i++) {
        const ctl_variant *v = &p->variants[i];
        json_t *entry = json_object();
        if (entry == NULL || json_object_set_new(obj, v->key, entry) != 0) goto oom;
        if (v->text && json_object_set_new(entry, "text", json_string(v->text)) != 0) goto oom;
        if (v->has_media) {
            /* The post's format rides on the variant's first item too, so
             * whichever array the scheduler picks carries it. */
            ctl_post view = ctl_post_with_variant(p, v);
            char *media = ctl_post_media_json(&view);
            json_t *arr = media ? json_loads(media, 0, NULL) : NULL;
            free(media);
            if (arr == NULL || json_object_set_new(entry, "media", arr) != 0) goto oom;
        }
    }
    if (obj && (*out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL) {
        json_decref(obj);
        return true;
    }
oom:
    json_decref(obj);
    return false;
}

json_t *ctl_post_variants_from_json(const char *stored) {
    json_t *obj = stored && *stored ? json_loads(stored, 0, NULL) : NULL;
    if (!json_is_object(obj)) {
        json_decref(obj);
        return json_object();
    }
    const char *key;
    json_t *entry;
    json_object_foreach(obj, key, entry) {
        json_t *media = json_object_get(entry, "media");
        size_t i;
        json_t *item;
        json_array_foreach(media, i, item) json_object_del(item, AP_FORMAT_MEDIA_KEY);
    }
    return obj;
}
