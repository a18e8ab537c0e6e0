/* x_chunked.h -- X's chunked media upload in the sandbox (x_chunked.c),
 * routed by x.c after its fault draw and token check. */
#ifndef SANDBOX_X_CHUNKED_H
#define SANDBOX_X_CHUNKED_H

#include "server.h"

typedef enum x_chunked_route {
    X_CHUNKED_NONE = 0,
    X_CHUNKED_INIT,     /* POST /x/2/media/upload/initialize */
    X_CHUNKED_APPEND,   /* POST /x/2/media/upload/{id}/append */
    X_CHUNKED_FINALIZE, /* POST /x/2/media/upload/{id}/finalize */
    X_CHUNKED_STATUS    /* GET  /x/2/media/upload?media_id=&command=STATUS */
} x_chunked_route;

/* seg: the path's segments after /x (seg[0] == "2"); NONE when not ours. */
x_chunked_route sandbox_x_chunked_route(const char *method, char *const *seg, int n);
/* Answers the call as user (a checked token's user); id: the path's media id
 * (APPEND, FINALIZE) or NULL. */
void sandbox_x_chunked_handle(sandbox_request *req, x_chunked_route route, const char *user,
                              const char *id);
/* 1 when id is user's chunked upload and X finished processing it. */
int sandbox_x_chunked_ready(const char *id, const char *user);
/* GET /_sandbox/x/uploads: every upload, with its segments' arrival order. */
json_t *sandbox_x_chunked_json(void);
void sandbox_x_chunked_reset(void);

#endif
