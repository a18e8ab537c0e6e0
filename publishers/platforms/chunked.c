/* chunked.c -- ranged reads of a post's media URL for the chunked uploads.
 *
 * Why ranged reads: the adapters do no I/O and keep no socket between
 * steps, so "read one chunk, send it, read the next" is one ranged GET per
 * chunk. Only one chunk is ever held (a 500 MB video streams through a few
 * MiB of memory), each GET goes through the engine's outbound policy
 * (public addresses, https, redirects re-checked: outside_url), and a host
 * that ignores Range and sends the whole file is cut at the chunk's size
 * and refused, never buffered. Every ranged answer must agree on the
 * file's size: a file that changes under us is not uploaded half old, half
 * new. */
#include "chunked.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_buf.h"

#define CHUNK_CURLE_WRITE_ERROR 23 /* the engine's body cap cut the download */

void ap_chunk_reader_init(ap_chunk_reader *c, size_t index, const char *what) {
    memset(c, 0, sizeof(*c));
    c->what = what;
    c->index = index;
    c->total = -1;
}

void ap_chunk_reader_drop(ap_chunk_reader *c) {
    free(c->bytes);
    c->bytes = NULL;
    c->len = 0;
}

/* Digits into *out; advances *s. -1 when none or too many. */
static int chunk_number(const char **s, int64_t *out) {
    int64_t v = 0;
    int n = 0;
    for (; isdigit((unsigned char)**s); (*s)++, n++) {
        if (n == 18) return -1;
        v = v * 10 + (**s - '0');
    }
    *out = v;
    return n > 0 ? 0 : -1;
}

int ap_chunk_parse_content_range(const char *value, int64_t *first, int64_t *last, int64_t *total) {
    if (value == NULL || strncasecmp(value, "bytes", 5) != 0) return -1;
    const char *s = value + 5;
    while (*s == ' ') s++;
    if (chunk_number(&s, first) != 0 || *s++ != '-' || chunk_number(&s, last) != 0 || *s++ != '/' ||
        chunk_number(&s, total) != 0)
        return -1;
    while (*s == ' ') s++;
    return *s == '\0' && *first <= *last && *last < *total ? 0 : -1;
}

int ap_chunk_build_fetch(const ap_chunk_reader *c, const char *url, int64_t first, size_t max,
                         ap_http_request *req) {
    char range[64];
    int64_t last = first + (int64_t)max - 1;
    if (c->total > 0 && last > c->total - 1) last = c->total - 1;
    int n = snprintf(range, sizeof(range), "bytes=%lld-%lld", (long long)first, (long long)last);
    if (ap_media_build_fetch(req, url, max) != 0 || n < 0 || (size_t)n >= sizeof(range)) return -1;
    /* Exactly one chunk: a host that ignores Range is cut here, not buffered. */
    req->max_response = max;
    return ap_http_request_add_header(req, "Range", range);
}

/* Where the answer sits in the file; false (r filled) when it does not
 * match what we asked or what earlier answers said. */
static bool chunk_place(ap_chunk_reader *c, const ap_http_response *res, int64_t want,
                        ap_flow_result *r) {
    int64_t first = 0, last = -1, total = (int64_t)res->body_len;
    if (res->status == 206 &&
        ap_chunk_parse_content_range(ap_http_response_header(res, "content-range"), &first, &last,
                                     &total) != 0) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "media_range",
                     "the %s's host answered a ranged read without a usable Content-Range",
                     c->what);
        return false;
    }
    if (res->status == 200 && want != 0) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "media_range",
                     "the %s's host stopped honouring ranged reads (Range) mid-file", c->what);
        return false;
    }
    if (res->status == 206 && (first != want || last - first + 1 != (int64_t)res->body_len)) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "media_range",
                     "the %s's host sent other bytes than the range asked for", c->what);
        return false;
    }
    if (c->total >= 0 && total != c->total) {
        /* The file changed under us: start over with the new one. */
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "media_changed",
                     "the %s changed size while it was being uploaded", c->what);
        return false;
    }
    c->total = total;
    return true;
}

bool ap_chunk_take(ap_chunk_reader *c, const ap_http_response *res, int64_t first,
                   ap_flow_result *r) {
    ap_chunk_reader_drop(c);
    if (ap_media_refused(res, c->index, r)) return false; /* as for images */
    if (res->transport_error == CHUNK_CURLE_WRITE_ERROR) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, 0, "media_range",
                     "the %s's host sent more than one chunk: it ignores ranged reads (Range), "
                     "which a chunked upload needs",
                     c->what);
        return false;
    }
    if (res->transport_error != 0) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "media_download", "could not download the %s", c->what);
        return false;
    }
    if (res->status == 429 || res->status >= 500) {
        ap_flow_fail(r, AP_CLASS_RETRY, res->status, "media_download",
                     "the %s's host is unavailable", c->what);
        return false;
    }
    if ((res->status != 200 && res->status != 206) || res->body_len == 0) {
        ap_flow_fail(r, AP_CLASS_PERMANENT, res->status, "media_download",
                     "the %s could not be fetched: its URL answered %ld", c->what, res->status);
        return false;
    }
    if (!chunk_place(c, res, first, r)) return false;
    if ((c->bytes = malloc(res->body_len)) == NULL) {
        ap_flow_fail(r, AP_CLASS_RETRY, 0, "internal", "out of memory holding a %s chunk", c->what);
        return false;
    }
    memcpy(c->bytes, res->body, res->body_len);
    c->len = res->body_len;
    c->first = first;
    return true;
}

static bool chunk_contains(const char *buf, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; buf && i + k <= n; i++)
        if (buf[i] == needle[0] && memcmp(buf + i, needle, k) == 0) return true;
    return false;
}

int ap_chunk_build_multipart(ap_http_request *req, const char *salt, const char *const *pairs,
                             const char *file_field, const char *bytes, size_t len) {
    char boundary[96], ctype[160];
    unsigned n = 0;
    do {
        int b = snprintf(boundary, sizeof(boundary), "autopost-%.40s-%u", salt, n++);
        if (b < 0 || (size_t)b >= sizeof(boundary)) return -1;
    } while (chunk_contains(bytes, len, boundary));
    ap_buf body = {0};
    for (size_t i = 0; pairs && pairs[i]; i += 2) {
        if (pairs[i + 1] == NULL) continue;
        ap_buf_printf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
                      boundary, pairs[i], pairs[i + 1]);
    }
    ap_buf_printf(&body,
                  "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"blob\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n",
                  boundary, file_field);
    ap_buf_append(&body, bytes ? bytes : "", len);
    ap_buf_printf(&body, "\r\n--%s--\r\n", boundary);
    int c = snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
    if (ap_buf_failed(&body) || c < 0 || (size_t)c >= sizeof(ctype)) {
        ap_buf_free(&body);
        return -1;
    }
    free(req->body);
    req->body = body.data;
    req->body_len = body.len;
    return ap_http_request_add_header(req, "Content-Type", ctype);
}
