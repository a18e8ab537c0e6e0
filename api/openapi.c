/* openapi.c -- api/openapi.yaml, embedded at build time, parsed with
 * libyaml once at start-up and served as JSON at GET /v1/openapi.json.
 *
 * The YAML file is the only copy of the document: no generated JSON to
 * forget to regenerate. The conversion is the plain YAML-to-JSON mapping
 * (mappings to objects, sequences to arrays; an unquoted true/false/null
 * or number is that JSON value, anything else a string). Anchors and
 * aliases are refused rather than half-supported. A document that does not
 * parse stops the service at start, like a bad config file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "api.h"

extern const unsigned char api_openapi_yaml[];
extern const size_t api_openapi_yaml_len;

static json_t *document;

static json_t *plain_scalar(const char *s, size_t len) {
    if (strcmp(s, "true") == 0) return json_true();
    if (strcmp(s, "false") == 0) return json_false();
    if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || len == 0) return json_null();
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0 && strspn(s, "-0123456789") == len) return json_integer(i);
    double d = strtod(s, &end);
    if (*end == '\0' && strspn(s, "-+.0123456789eE") == len) return json_real(d);
    return json_string(s);
}

/* Parses the node that starts with *ev (already read) into a JSON value. */
static json_t *parse_node(yaml_parser_t *p, yaml_event_t *ev, int depth, char *err, size_t errlen);

static bool next_event(yaml_parser_t *p, yaml_event_t *ev, char *err, size_t errlen) {
    if (yaml_parser_parse(p, ev)) return true;
    snprintf(err, errlen, "line %zu: %s", p->problem_mark.line + 1,
             p->problem ? p->problem : "YAML error");
    return false;
}

static json_t *parse_collection(yaml_parser_t *p, bool mapping, int depth, char *err,
                                size_t errlen) {
    json_t *out = mapping ? json_object() : json_array();
    yaml_event_t ev;
    for (;;) {
        if (!next_event(p, &ev, err, errlen)) goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return out;
        }
        if (!mapping) {
            json_t *v = parse_node(p, &ev, depth + 1, err, errlen);
            if (v == NULL) goto fail;
            json_array_append_new(out, v);
            continue;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            snprintf(err, errlen, "line %zu: a mapping key must be a scalar",
                     ev.start_mark.line + 1);
            yaml_event_delete(&ev);
            goto fail;
        }
        char *key = strdup((const char *)ev.data.scalar.value);
        yaml_event_delete(&ev);
        json_t *v = NULL;
        if (key && next_event(p, &ev, err, errlen)) v = parse_node(p, &ev, depth + 1, err, errlen);
        if (v == NULL || json_object_set_new(out, key, v) != 0) {
            free(key);
            goto fail;
        }
        free(key);
    }
fail:
    json_decref(out);
    return NULL;
}

static json_t *parse_node(yaml_parser_t *p, yaml_event_t *ev, int depth, char *err, size_t errlen) {
    json_t *v = NULL;
    if (depth > 64) {
        snprintf(err, errlen, "nested too deeply");
    } else if (ev->type == YAML_SCALAR_EVENT) {
        const char *s = (const char *)ev->data.scalar.value;
        v = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                ? plain_scalar(s, ev->data.scalar.length)
                : json_string(s);
    } else if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) {
        bool mapping = ev->type == YAML_MAPPING_START_EVENT;
        yaml_event_delete(ev);
        return parse_collection(p, mapping, depth, err, errlen);
    } else {
        snprintf(err, errlen, "line %zu: anchors, aliases and tags are not supported",
                 ev->start_mark.line + 1);
    }
    yaml_event_delete(ev);
    return v;
}

bool api_openapi_load(char *err, size_t errlen) {
    yaml_parser_t p;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    yaml_parser_set_input_string(&p, api_openapi_yaml, api_openapi_yaml_len);
    json_t *doc = NULL;
    /* stream start, document start, then the root node */
    for (int i = 0; i < 2; i++) {
        if (!next_event(&p, &ev, err, errlen)) goto done;
        yaml_event_delete(&ev);
    }
    if (!next_event(&p, &ev, err, errlen)) goto done;
    doc = parse_node(&p, &ev, 0, err, errlen);
done:
    yaml_parser_delete(&p);
    if (doc && !json_is_object(doc)) {
        snprintf(err, errlen, "the document is not a mapping");
        json_decref(doc);
        doc = NULL;
    }
    json_decref(document);
    document = doc;
    return doc != NULL;
}

json_t *api_openapi_document(void) { return document; }

void api_openapi_free(void) {
    json_decref(document);
    document = NULL;
}

api_reply api_openapi_get(api_request *req, PGconn *db) {
    (void)req;
    (void)db;
    if (document == NULL) return api_error(503, "unavailable", "the document is not loaded");
    return (api_reply){.status = 200, .body = json_incref(document)};
}
