/* linkedin_document.h -- LinkedIn's document upload (Documents API: PDF
 * carousels), as a sub-flow of the LinkedIn adapter: no I/O, steps like
 * ap_adapter.step().
 *
 * Unlike a video, a document goes to LinkedIn in one PUT of the whole file
 * (the Documents API hands out one upload URL, no byte ranges), and the
 * runtime's HTTP engine sends a body from memory: the document is held
 * whole, bounded by LinkedIn's 100 MB limit, from its download to its PUT
 * (for a moment twice: the download's buffer and the flow's copy). The PUT
 * takes the bytes over (no further copy); a PUT that must be sent again
 * downloads the document again rather than keeping a spare copy. */
#ifndef AP_LINKEDIN_DOCUMENT_H
#define AP_LINKEDIN_DOCUMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "linkedin.h"

/* LinkedIn's limits (Documents API docs): 100 MB and 300 pages. Pages are
 * LinkedIn's to count: a longer PDF ends as PROCESSING_FAILED. */
#define AP_LI_DOC_MAX_BYTES (100LL * 1024 * 1024)
#define AP_LI_DOC_URN_MAX 100
#define AP_LI_DOC_TITLE_MAX 400 /* bytes of content.media.title */

/* A step of the upload, named: the flow is always in exactly one. */
typedef enum ap_li_doc_state {
    AP_LD_FETCH,  /* GET the media URL (capped at AP_LI_DOC_MAX_BYTES) */
    AP_LD_INIT,   /* POST /rest/documents?action=initializeUpload */
    AP_LD_PUT,    /* PUT the document to its uploadUrl */
    AP_LD_STATUS, /* GET /rest/documents/{urn} after a wait */
    AP_LD_READY,  /* AVAILABLE: the document URN can go on a post */
    AP_LD_FAILED  /* ended; the result says why */
} ap_li_doc_state;

/* initializeUpload's answer. */
typedef struct ap_li_doc_upload {
    char document[AP_LI_DOC_URN_MAX]; /* urn:li:document:... */
    char *url;                        /* uploadUrl, malloc'ed */
    int64_t expires_at_ms;            /* uploadUrlExpiresAt; 0 when not said */
} ap_li_doc_upload;

/* Parsers of LinkedIn's answers (fuzzed: tests/fuzz/fuzz_linkedin_document_response.c).
 * 0 on success, -1 when the answer does not have the expected shape. */
/* {"value":{"uploadUrl","uploadUrlExpiresAt","document"}}. u is cleared
 * first; on -1 it is left empty. */
int ap_li_doc_parse_init(const char *body, size_t len, ap_li_doc_upload *u);
void ap_li_doc_upload_clear(ap_li_doc_upload *u);
/* GET /rest/documents/{urn} answers are read by ap_li_parse_asset_status
 * (linkedin.h), as the videos' are. */

/* content.media.title for the job's media number index: its alt_text, else
 * the file name at the end of its URL, else "Document"; cut to
 * AP_LI_DOC_TITLE_MAX bytes at a character boundary. */
void ap_li_doc_title(const ap_job *job, size_t index, char *out, size_t len);

typedef struct ap_li_document ap_li_document;

/* The upload of the job's media number index; NULL when out of memory. */
ap_li_document *ap_li_document_new(size_t index);
void ap_li_document_free(ap_li_document *d); /* NULL is a no-op */

/* Like ap_adapter.step(): prev is the answer to the last request (NULL the
 * first time and after a WAIT). AP_STEP_DONE with r->error_class NONE means
 * the document is AVAILABLE (ap_li_document_urn); otherwise r says why it
 * ended. Nothing here is public, so no end is ambiguous or duplicate. */
ap_step_kind ap_li_document_step(ap_li_document *d, const ap_flow_input *in,
                                 const ap_http_response *prev, ap_http_request *req,
                                 int64_t *wait_ms, ap_flow_result *r);

ap_li_doc_state ap_li_document_state_of(const ap_li_document *d);
const char *ap_li_document_urn(const ap_li_document *d); /* "" until READY */
/* The post's content: {"media":{"title","id": the document URN}}; NULL
 * when out of memory. */
json_t *ap_li_document_content(const ap_li_document *d, const ap_job *job);

#endif
