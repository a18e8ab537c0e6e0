/* linkedin.h -- what the LinkedIn adapter's files share with each other
 * (linkedin.c, linkedin_video.c), tests and tools. */
#ifndef AP_LINKEDIN_H
#define AP_LINKEDIN_H

#include <stdbool.h>

#include "adapter.h"

/* text with LinkedIn "little text format" reserved characters
 * ( ) [ ] { } < > @ | ~ _ * \ escaped by a backslash, as commentary must be.
 * malloc'ed; NULL when out of memory. */
char *ap_linkedin_escape(const char *text);

/* LinkedIn-Version, X-Restli-Protocol-Version and the Bearer token; -1 on
 * failure. */
int ap_linkedin_headers(ap_http_request *req, const ap_flow_input *in);

/* An upload URL LinkedIn handed us gets our token: only LinkedIn's hosts
 * or the configured API (the sandbox). */
bool ap_linkedin_upload_url_ok(const ap_flow_input *in, const char *url);

/* A failed upload step (image or video, before the post): classified as
 * LinkedIn answers are (see linkedin.c), but never duplicate or ambiguous,
 * since nothing is public yet. what names the step in the message. */
void ap_linkedin_media_error(const ap_flow_input *in, const ap_http_response *res, const char *what,
                             ap_flow_result *r);

/* A non-2xx LinkedIn answer into r (linkedin.c has the table): publishing
 * says whether the call could have created something (a 5xx is then
 * ambiguous). */
void ap_linkedin_classify_error(const ap_flow_input *in, const ap_http_response *res,
                                bool publishing, ap_flow_result *r);

/* A post's first comment (chain.h): a social-action comment on it
 * (linkedin_comment.c). */
extern const ap_adapter ap_adapter_linkedin_comment;

/* A LinkedIn URN ("urn:li:<type>:<id>", safe characters, < 100 bytes). */
bool ap_linkedin_urn_ok(const char *s);

/* An uploaded asset's "status" (GET /rest/videos/{urn}, /rest/documents/{urn}:
 * the same field, the same values). */
typedef enum ap_li_asset_status {
    AP_LI_ASSET_UNKNOWN,
    AP_LI_ASSET_WAITING_UPLOAD,
    AP_LI_ASSET_PROCESSING,
    AP_LI_ASSET_AVAILABLE,
    AP_LI_ASSET_PROCESSING_FAILED
} ap_li_asset_status;

/* {"status":..., "processingFailureReason":...}: -1 for a status we do not
 * know (never taken for "available"); reason gets the failure reason. */
int ap_li_parse_asset_status(const char *body, size_t len, ap_li_asset_status *status, char *reason,
                             size_t reason_len);

#endif
