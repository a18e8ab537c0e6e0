/* comments.h -- the Graph comment edge Facebook Pages and Instagram share
 * (a post's first comment, publishers/platforms/graph_comment.c):
 *
 *   POST /{v}/{post}/comments  message          -> {"id"}
 *   GET  /{v}/{post}/comments  fields, limit    -> {"data":[oldest first],"paging":{}}
 *
 * A comment is kept in the post store as kind "comment", in_reply_to the
 * post, on a page of its own ("comments:<post>"), so a page's feed never
 * lists it and /_sandbox/posts shows it. The post must be one the sandbox
 * has: else Graph's 100/33. The caller has checked the path, faults and
 * the token. */
#ifndef SANDBOX_COMMENTS_H
#define SANDBOX_COMMENTS_H

#include "server.h"

/* Graph's error body, as the platform file answers it. */
typedef void (*sandbox_graph_error_fn)(sandbox_request *req, unsigned http, int code, int subcode,
                                       const char *message);

/* text_field / time_field: how a listed comment names its text and time
 * ("message"/"created_time" on Facebook, "text"/"timestamp" on Instagram). */
void sandbox_comment_create(sandbox_request *req, const char *platform, const char *post,
                            const char *token, int hang, sandbox_graph_error_fn error);
void sandbox_comment_list(sandbox_request *req, const char *platform, const char *post,
                          const char *text_field, const char *time_field,
                          sandbox_graph_error_fn error);

/* LinkedIn's social-action comments on a post (URN decoded), answered in
 * LinkedIn's shapes; error is LinkedIn's (status, code, message):
 *   POST /rest/socialActions/{urn}/comments {"actor","object","message":{"text"}}
 *        -> 201 {"id","$URN","actor","object","message","created":{"time"}}
 *   GET  same path -> {"elements":[...],"paging":{"count","start","total"}}
 * The actor must be the post's author (a member comments as itself, an
 * organization as itself): else 403. */
typedef void (*sandbox_li_error_fn)(sandbox_request *req, unsigned status, const char *code,
                                    const char *message);
void sandbox_li_comment_create(sandbox_request *req, const char *urn, const char *token, int hang,
                               sandbox_li_error_fn error);
void sandbox_li_comment_list(sandbox_request *req, const char *urn, sandbox_li_error_fn error);

#endif
