/* routes.c -- every route autopost-api answers, as one table.
 *
 * A route is a method, a path pattern with at most one {id} segment, and a
 * handler. The table is also what tests/unit/test_api_routes.c compares
 * with api/openapi.yaml's paths, both ways, so a route cannot ship without
 * its documentation nor the other way round. */
#include <string.h>

#include "api.h"

const api_route api_routes[] = {
    {"POST", "/v1/posts", api_posts_create, false},
    {"GET", "/v1/posts/{id}", api_posts_get, false},
    {"PATCH", "/v1/posts/{id}", api_posts_patch, false},
    {"POST", "/v1/posts/{id}/cancel", api_posts_cancel, false},
    {"GET", "/v1/posts/{id}/occurrences", api_posts_occurrences, false},
    {"GET", "/v1/accounts", api_accounts_list, false},
    {"GET", "/v1/schedules", api_schedules_list, false},
    {"GET", "/v1/schedules/{id}", api_schedules_get, false},
    {"PATCH", "/v1/schedules/{id}", api_schedules_patch, false},
    {"POST", "/v1/schedules/{id}/cancel", api_schedules_cancel, false},
    {"POST", "/v1/webhooks", api_webhooks_create, false},
    {"GET", "/v1/webhooks", api_webhooks_list, false},
    {"DELETE", "/v1/webhooks/{id}", api_webhooks_delete, false},
    {"GET", "/v1/webhooks/{id}/deliveries", api_webhooks_deliveries, false},
    {"GET", "/v1/openapi.json", api_openapi_get, true},
    {NULL, NULL, NULL, false},
};

/* Does path match pattern? The {id} segment (1..36 bytes, no '/') is
 * copied into id_buf. */
static bool path_matches(const char *pattern, const char *path, char id_buf[37]) {
    const char *hole = strstr(pattern, "{id}");
    if (hole == NULL) return strcmp(pattern, path) == 0;
    size_t head = (size_t)(hole - pattern);
    if (strncmp(pattern, path, head) != 0) return false;
    const char *seg = path + head;
    size_t n = strcspn(seg, "/");
    if (n == 0 || n > 36) return false;
    if (strcmp(hole + 4, seg + n) != 0) return false;
    memcpy(id_buf, seg, n);
    id_buf[n] = '\0';
    return true;
}

const api_route *api_route_find(const char *method, const char *path, char id_buf[37],
                                bool *path_known) {
    *path_known = false;
    for (const api_route *r = api_routes; r->method; r++) {
        char id[37] = "";
        if (!path_matches(r->pattern, path, id)) continue;
        *path_known = true;
        if (strcmp(r->method, method) != 0) continue;
        memcpy(id_buf, id, sizeof(id));
        return r;
    }
    return NULL;
}
