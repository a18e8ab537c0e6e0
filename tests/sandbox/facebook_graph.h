/* facebook_graph.h -- what the sandbox's Facebook files share (private to
 * facebook.c, facebook_read.c and facebook_videos.c): one parsed call, the
 * Graph error answer and parameter helpers (facebook.c) and the read
 * handlers (facebook_read.c) the router calls. */
#ifndef SANDBOX_FACEBOOK_GRAPH_H
#define SANDBOX_FACEBOOK_GRAPH_H

#include "server.h"

#define FB_PLATFORM "facebook"
#define FB_PATH_MAX 512
#define FB_ID_MAX (FB_PATH_MAX + 32)
#define FB_MAX_SEGMENTS 3
#define FB_DEFAULT_LIMIT 25
#define FB_MAX_LIMIT 100
#define FB_MSG_TRANSIENT "An unexpected error has occurred. Please retry your request later."
#define FB_MSG_NOT_FOUND                                                                           \
    "Unsupported get request. Object with ID '%s' does not exist, cannot be "                      \
    "loaded due to missing permissions, or does not support this operation. "                      \
    "Please read the Graph API documentation at "                                                  \
    "https://developers.facebook.com/docs/graph-api"

/* One parsed call. */
typedef struct fb_call {
    sandbox_request *req;
    const char *node; /* page id, or object id when there is no edge */
    const char *edge; /* NULL for /{version}/{node} */
    const char *token;
    const char *version;
    int hang; /* accept but never answer */
} fb_call;

/* facebook.c */
/* {"error":{message,type,code,[error_subcode,]is_transient,fbtrace_id}} */
void fb_error(sandbox_request *req, unsigned http, int code, int subcode, const char *message);
void fb_invalid_param(sandbox_request *req);
/* A parameter, with empty values treated as absent as Graph does. */
const char *fb_param(const fb_call *c, const char *name);
/* Non-negative integer parameter: 1 when set, 0 when absent, -1 when not a number. */
int fb_int_param(const fb_call *c, const char *name, long long *out);

/* facebook_read.c */
void fb_read_feed(fb_call *c);   /* GET /{v}/{page}/feed */
void fb_read_videos(fb_call *c); /* GET /{v}/{page}/videos */
void fb_read_reels(fb_call *c);  /* GET /{v}/{page}/video_reels */
void fb_read_object(fb_call *c); /* GET /{v}/{id} */

#endif
