/* linkedin_videos.h -- LinkedIn's Videos API in the sandbox
 * (linkedin_videos.c), routed by linkedin.c after its version, fault and
 * token checks. */
#ifndef SANDBOX_LINKEDIN_VIDEOS_H
#define SANDBOX_LINKEDIN_VIDEOS_H

#include "server.h"

/* POST /linkedin/rest/videos?action=initializeUpload|finalizeUpload. */
void sandbox_li_videos_action(sandbox_request *req);
/* GET /linkedin/rest/videos/{urn} (urn percent-decoded). */
void sandbox_li_videos_get(sandbox_request *req, const char *urn);
/* PUT /linkedin/dms-uploads/video/{rest}: one part's bytes. */
void sandbox_li_videos_put(sandbox_request *req, const char *rest);
/* 1 when urn is owner's video and AVAILABLE (a post may name it). */
int sandbox_li_videos_available(const char *urn, const char *owner);
/* GET /_sandbox/linkedin/videos: every upload, with its parts' arrivals. */
json_t *sandbox_li_videos_json(void);
void sandbox_li_videos_reset(void);

#endif
