/* linkedin_documents.h -- LinkedIn's Documents API in the sandbox
 * (linkedin_documents.c), routed by linkedin.c after its version, fault and
 * token checks. */
#ifndef SANDBOX_LINKEDIN_DOCUMENTS_H
#define SANDBOX_LINKEDIN_DOCUMENTS_H

#include "server.h"

/* POST /linkedin/rest/documents?action=initializeUpload. */
void sandbox_li_documents_action(sandbox_request *req);
/* GET /linkedin/rest/documents/{urn} (urn percent-decoded). */
void sandbox_li_documents_get(sandbox_request *req, const char *urn);
/* PUT /linkedin/dms-uploads/document/{rest}: the file. */
void sandbox_li_documents_put(sandbox_request *req, const char *rest);
/* 1 when urn is owner's document and AVAILABLE (a post may name it); the
 * post's title is recorded on it. */
int sandbox_li_documents_use(const char *urn, const char *owner, const char *title);
/* GET /_sandbox/linkedin/documents: every upload, as it went. */
json_t *sandbox_li_documents_json(void);
void sandbox_li_documents_reset(void);

#endif
