/* graph_comment.h -- a post's first comment on Facebook Pages and
 * Instagram (chain.h): the comment edge of the live post.
 *
 *   POST /{post-id}/comments  message=<text>               -> {"id"}
 *   GET  /{post-id}/comments?fields=id,<text>,<time>&limit=100
 *        read-back: our text among the post's comments
 *
 * The comment is the chain's last message (engine: chain_steps.c), made with
 * the account's token (a Page token comments as the Page; an Instagram
 * token as the business account). The POST is a `once` request like every
 * publishing call; an answer that may have come after Graph stored it is
 * ambiguous and read back. */
#ifndef AP_GRAPH_COMMENT_H
#define AP_GRAPH_COMMENT_H

#include "adapter.h"

extern const ap_adapter ap_adapter_facebook_comment;
extern const ap_adapter ap_adapter_instagram_comment;

#endif
