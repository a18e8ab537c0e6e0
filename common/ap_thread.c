/* ap_thread.c -- see ap_thread.h. */
#include "ap_thread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *media_type_name(Autopost__V1__MediaType t) {
    return t == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO ? "video"
           : t == AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF ? "gif"
                                                           : "image";
}

static bool media_type_parse(const char *s, Autopost__V1__MediaType *t) {
    if (strcmp(s, "image") == 0)
        *t = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
    else if (strcmp(s, "video") == 0)
        *t = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_VIDEO;
    else if (strcmp(s, "gif") == 0)
        *t = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_GIF;
    else
        return false;
    return true;
}

static bool only_keys(json_t *o, const char *const *keys, const char **bad) {
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        bool known = false;
        for (size_t i = 0; keys[i]; i++) known = known || strcmp(key, keys[i]) == 0;
        if (!known) {
            *bad = key;
            return false;
        }
    }
    return true;
}

static bool part_media(json_t *arr, Autopost__V1__ThreadPart *part, size_t k, char *reason,
                       size_t len) {
    static const char *const keys[] = {"url", "type", "alt_text", NULL};
    if (!json_is_array(arr) || json_array_size(arr) > AP_MAX_MEDIA) {
        snprintf(reason, len, "thread[%zu].media: expected an array of at most %d items", k,
                 AP_MAX_MEDIA);
        return false;
    }
    size_t n = json_array_size(arr);
    if (n == 0) return true;
    part->media = calloc(n, sizeof(*part->media));
    if (part->media == NULL) goto oom;
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        const char *bad = NULL;
        json_t *url = json_object_get(item, "url"), *type = json_object_get(item, "type"),
               *alt = json_object_get(item, "alt_text");
        if (!json_is_object(item) || !only_keys(item, keys, &bad)) {
            snprintf(reason, len, "thread[%zu].media[%zu]: %s%.40s%s", k, i,
                     bad ? "unknown key \"" : "expected an object with url, type, alt_text",
                     bad ? bad : "", bad ? "\"" : "");
            return false;
        }
        Autopost__V1__MediaType t = AUTOPOST__V1__MEDIA_TYPE__MEDIA_TYPE_IMAGE;
        if (!json_is_string(url) || (type && !json_is_null(type) && !json_is_string(type)) ||
            (alt && !json_is_null(alt) && !json_is_string(alt))) {
            snprintf(reason, len, "thread[%zu].media[%zu]: url, type and alt_text are strings", k,
                     i);
            return false;
        }
        if (json_is_string(type) && !media_type_parse(json_string_value(type), &t)) {
            snprintf(reason, len,
                     "thread[%zu].media[%zu].type: \"%.32s\" is not image, video or gif", k, i,
                     json_string_value(type));
            return false;
        }
        Autopost__V1__Media *m = malloc(sizeof(*m));
        if (m == NULL) goto oom;
        autopost__v1__media__init(m);
        part->media[part->n_media++] = m;
        m->type = t;
        m->url = strdup(json_string_value(url));
        m->alt_text = strdup(json_is_string(alt) ? json_string_value(alt) : "");
        if (m->url == NULL || m->alt_text == NULL) goto oom;
    }
    return true;
oom:
    snprintf(reason, len, "out of memory");
    return false;
}

bool ap_thread_from_value(json_t *v, ap_thread *t, char *reason, size_t len) {
    static const char *const keys[] = {"text", "media", NULL};
    memset(t, 0, sizeof(*t));
    if (v == NULL || json_is_null(v)) return true;
    if (!json_is_array(v)) {
        snprintf(reason, len, "thread: expected an array of {\"text\", \"media\"?}");
        return false;
    }
    size_t n = json_array_size(v);
    if (n > AP_THREAD_MAX_PARTS) {
        snprintf(reason, len, "thread: %zu parts; at most %d", n, AP_THREAD_MAX_PARTS);
        return false;
    }
    if (n == 0) return true;
    t->parts = calloc(n, sizeof(*t->parts));
    t->ptrs = calloc(n, sizeof(*t->ptrs));
    if (t->parts == NULL || t->ptrs == NULL) {
        snprintf(reason, len, "out of memory");
        ap_thread_free(t);
        return false;
    }
    size_t k;
    json_t *item;
    json_array_foreach(v, k, item) {
        Autopost__V1__ThreadPart *part = &t->parts[k];
        autopost__v1__thread_part__init(part);
        part->text = NULL; /* ours to free from here on */
        t->ptrs[k] = part;
        t->n = k + 1;
        const char *bad = NULL;
        json_t *text = json_object_get(item, "text"), *media = json_object_get(item, "media");
        if (!json_is_object(item) || !only_keys(item, keys, &bad)) {
            snprintf(reason, len, "thread[%zu]: %s%.40s%s", k,
                     bad ? "unknown key \"" : "expected an object with text and media",
                     bad ? bad : "", bad ? "\" (known: text, media)" : "");
            goto fail;
        }
        if (!json_is_string(text)) {
            snprintf(reason, len, "thread[%zu].text: expected a string", k);
            goto fail;
        }
        if ((part->text = strdup(json_string_value(text))) == NULL) {
            snprintf(reason, len, "out of memory");
            goto fail;
        }
        if (media && !json_is_null(media) && !part_media(media, part, k, reason, len)) goto fail;
    }
    return true;
fail:
    ap_thread_free(t);
    return false;
}

bool ap_thread_from_json(const char *json, ap_thread *t, char *reason, size_t len) {
    memset(t, 0, sizeof(*t));
    if (json == NULL || *json == '\0') return true;
    json_t *v = json_loads(json, 0, NULL);
    if (v == NULL) {
        snprintf(reason, len, "thread: stored value is not JSON");
        return false;
    }
    bool ok = ap_thread_from_value(v, t, reason, len);
    json_decref(v);
    return ok;
}

char *ap_thread_to_json(const ap_thread *t, bool *oom) {
    *oom = false;
    if (t->n == 0) return NULL;
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < t->n; k++) {
        const Autopost__V1__ThreadPart *p = &t->parts[k];
        json_t *o = json_pack("{s:s}", "text", p->text ? p->text : "");
        json_t *media = p->n_media ? json_array() : NULL;
        for (size_t i = 0; media && i < p->n_media; i++) {
            const Autopost__V1__Media *m = p->media[i];
            if (json_array_append_new(media, json_pack("{s:s,s:s,s:s}", "url", m->url, "type",
                                                       media_type_name(m->type), "alt_text",
                                                       m->alt_text ? m->alt_text : "")) != 0) {
                json_decref(media);
                media = NULL;
            }
        }
        if (o == NULL ||
            (p->n_media && (media == NULL || json_object_set_new(o, "media", media))) ||
            json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *out = arr ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(arr);
    *oom = out == NULL;
    return out;
}

void ap_thread_attach(const ap_thread *t, ap_job *job) {
    job->n_thread = t->n;
    job->thread = t->n ? t->ptrs : NULL;
}

void ap_thread_free(ap_thread *t) {
    for (size_t k = 0; t->parts && k < t->n; k++) {
        Autopost__V1__ThreadPart *p = &t->parts[k];
        free(p->text);
        for (size_t i = 0; i < p->n_media; i++) {
            free(p->media[i]->url);
            free(p->media[i]->alt_text);
            free(p->media[i]);
        }
        free(p->media);
    }
    free(t->parts);
    free(t->ptrs);
    memset(t, 0, sizeof(*t));
}
