/* facebook_video_parse.c -- the parsers of Facebook's answers to a page
 * video or reel upload (facebook_video.h), apart from the flow so the fuzz
 * target (tests/fuzz/fuzz_facebook_video_response.c) reaches them alone.
 * Graph sends offsets as decimal strings; every id is checked before it
 * goes into a URL path (ap_graph_id). */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "facebook_video.h"
#include "graph.h"

/* Graph sends offsets as decimal strings; numbers are taken too. */
static int fv_offset(json_t *v, int64_t *out) {
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return *out >= 0 ? 0 : -1;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 15) return -1;
    const char *s = json_string_value(v);
    int64_t n = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) return -1;
        n = n * 10 + (*s - '0');
    }
    *out = n;
    return 0;
}

static int fv_copy_id(json_t *root, const char *key, char *out, size_t len) {
    const char *id = ap_graph_id(root, key);
    if (id == NULL || strlen(id) >= len) return -1;
    snprintf(out, len, "%s", id);
    return 0;
}

int ap_fb_video_parse_start(const char *body, size_t len, bool reel, ap_fb_video_start *s) {
    memset(s, 0, sizeof(*s));
    s->start = s->end = -1;
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    int rc =
        json_is_object(root) ? fv_copy_id(root, "video_id", s->video_id, sizeof(s->video_id)) : -1;
    if (rc == 0 && reel) {
        json_t *url = json_object_get(root, "upload_url");
        if (!json_is_string(url) || json_string_length(url) == 0 ||
            json_string_length(url) >= sizeof(s->upload_url) ||
            strlen(json_string_value(url)) != json_string_length(url) ||
            strpbrk(json_string_value(url), " \r\n") != NULL)
            rc = -1;
        else
            snprintf(s->upload_url, sizeof(s->upload_url), "%s", json_string_value(url));
    } else if (rc == 0) {
        if (fv_copy_id(root, "upload_session_id", s->session, sizeof(s->session)) != 0 ||
            fv_offset(json_object_get(root, "start_offset"), &s->start) != 0 ||
            fv_offset(json_object_get(root, "end_offset"), &s->end) != 0 || s->end < s->start)
            rc = -1;
    }
    if (rc != 0) {
        memset(s, 0, sizeof(*s));
        s->start = s->end = -1;
    }
    json_decref(root);
    return rc;
}

int ap_fb_video_parse_offsets(const char *body, size_t len, int64_t *start, int64_t *end) {
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    int rc = json_is_object(root) && fv_offset(json_object_get(root, "start_offset"), start) == 0 &&
                     fv_offset(json_object_get(root, "end_offset"), end) == 0 && *end >= *start
                 ? 0
                 : -1;
    json_decref(root);
    return rc;
}

int ap_fb_video_parse_success(const char *body, size_t len) {
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    int rc = json_is_true(json_object_get(root, "success")) ? 0 : -1;
    json_decref(root);
    return rc;
}

static ap_fb_video_status fv_status_named(const char *s) {
    static const struct {
        const char *name;
        ap_fb_video_status status;
    } names[] = {{"ready", AP_FVS_READY},
                 {"processing", AP_FVS_UPLOADING},
                 {"upload_complete", AP_FVS_UPLOADING},
                 {"uploading", AP_FVS_UPLOADING},
                 {"error", AP_FVS_ERROR},
                 {"upload_failed", AP_FVS_ERROR},
                 {"expired", AP_FVS_ERROR}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0) return names[i].status;
    return AP_FVS_UNKNOWN;
}

int ap_fb_video_parse_status(const char *body, size_t len, ap_fb_video_status *status, char *why,
                             size_t why_len) {
    *status = AP_FVS_UNKNOWN;
    if (why_len) why[0] = '\0';
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *st = json_object_get(root, "status");
    json_t *vs = json_object_get(st, "video_status");
    int rc = -1;
    if (json_is_string(vs)) {
        *status = fv_status_named(json_string_value(vs));
        rc = *status == AP_FVS_UNKNOWN ? -1 : 0;
        /* The first phase that says why it failed. */
        static const char *const phases[] = {"uploading_phase", "processing_phase",
                                             "publishing_phase"};
        for (size_t i = 0; rc == 0 && why_len && i < 3 && why[0] == '\0'; i++) {
            json_t *msg = json_object_get(json_object_get(json_object_get(st, phases[i]), "error"),
                                          "message");
            if (json_is_string(msg)) snprintf(why, why_len, "%s", json_string_value(msg));
        }
    }
    json_decref(root);
    return rc;
}

int ap_fb_video_listed(const char *body, size_t len, const char *video_id) {
    json_t *root = json_loadb(body ? body : "", len, 0, NULL);
    json_t *data = json_object_get(root, "data"), *item;
    size_t i;
    int rc = json_is_array(data) ? 0 : -1;
    json_array_foreach(data, i, item) {
        json_t *id = json_object_get(item, "id");
        if (json_is_string(id) && strcmp(json_string_value(id), video_id) == 0 &&
            !json_is_false(json_object_get(item, "published"))) {
            rc = 1;
            break;
        }
    }
    json_decref(root);
    return rc;
}
