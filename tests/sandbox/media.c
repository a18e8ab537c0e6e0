/* media.c -- a stand-in for the web servers that host a post's images and
 * videos, under /media/, so publishers that must download media before
 * uploading it (X) have something to fetch without the internet.
 *
 *   GET /media/{name}.{jpg|jpeg|png|gif|webp|mp4|mov|txt|pdf}[?bytes=N][&norange=1]
 *     -> 200, N bytes (default 2048, at most 600 MiB) with the extension's
 *        Content-Type; the bytes depend only on the name and N
 *     with "Range: bytes=A-B" (or "A-"): 206 with those bytes and
 *        Content-Range: bytes A-B'/N (B' = min(B, N-1)), as a CDN answers a
 *        ranged read; 416 when A >= N; norange=1 ignores Range (a host that
 *        does not support it)
 *   GET /media/redirect/{301|302|303|307|308}/{hops}/{name}.{ext}[?bytes=N][&norange=1]
 *     -> that status, Location: the same path with hops-1 (hops 2..20), or
 *        /media/{name}.{ext} with the same query (hops 1): a CDN or link
 *        shortener in front of the file, a chain of hops long
 *   GET /media/redirect/{code}/to?url=URL -> that status, Location: URL
 *        (any URL: a hop off the media host, e.g. to file:///etc/passwd)
 *   anything else -> 404
 *
 * Only the bytes asked for are made: byte i is a hash of the name and i/8,
 * so a ranged read costs its own bytes, never the ones before it, and a
 * 600 MiB "video" costs one chunk of memory per read.
 * Not a platform: no tokens, no faults, nothing recorded in the post store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"

#define MEDIA_PREFIX "/media/"
#define MEDIA_DEFAULT_BYTES 2048
#define MEDIA_MAX_BYTES (600L * 1024 * 1024)
#define MEDIA_MAX_ANSWER (64L * 1024 * 1024) /* one answer's bytes (a range) */

static const struct {
    const char *ext, *type;
} media_types[] = {
    {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"}, {"png", "image/png"},
    {"gif", "image/gif"},       {"webp", "image/webp"}, {"mp4", "video/mp4"},
    {"mov", "video/quicktime"}, {"txt", "text/plain"},  {"pdf", "application/pdf"},
};

/* "bytes=A-B" or "bytes=A-" of a file of n bytes into [*first, *last];
 * 0 ok, 1 not satisfiable, -1 not a single range we understand (ignored,
 * as RFC 9110 lets a server do). */
static int media_range(const char *h, long n, long *first, long *last) {
    char *end;
    if (h == NULL || strncasecmp(h, "bytes=", 6) != 0) return -1;
    long a = strtol(h + 6, &end, 10);
    if (end == h + 6 || *end != '-' || a < 0) return -1;
    const char *b_text = end + 1;
    long b = n - 1;
    if (*b_text != '\0') {
        b = strtol(b_text, &end, 10);
        if (end == b_text || *end != '\0' || b < a) return -1;
    }
    if (a >= n) return 1;
    *first = a;
    *last = b < n - 1 ? b : n - 1;
    return 0;
}

/* Byte i of a file: splitmix64 of (seed, i / 8), so any range is made
 * without the bytes before it. */
static unsigned char media_byte(uint64_t seed, long i) {
    uint64_t z = seed + (uint64_t)(i / 8) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (unsigned char)(z >> (8 * (i % 8)));
}

#define MEDIA_REDIRECT "redirect/"
#define MEDIA_MAX_HOPS 20

/* redirect/{code}/{hops}/{name}: one hop toward /media/{name};
 * redirect/{code}/to?url=URL: one hop to URL. */
static void media_redirect(sandbox_request *req, const char *rest) {
    char *end;
    long code = strtol(rest, &end, 10);
    const char *to = sandbox_req_query(req, "url");
    if (strcmp(end, "/to") == 0 && to && *to && strpbrk(to, "\r\n") == NULL &&
        (code == 301 || code == 302 || code == 303 || code == 307 || code == 308)) {
        if (sandbox_reply_header(req, "Location", to) != 0)
            sandbox_reply_json(req, 500, json_pack("{s:s}", "error", "redirect too long"));
        else
            sandbox_reply_empty(req, (unsigned)code);
        return;
    }
    long hops = *end == '/' ? strtol(end + 1, &end, 10) : 0;
    const char *name = *end == '/' ? end + 1 : NULL;
    if ((code != 301 && code != 302 && code != 303 && code != 307 && code != 308) || hops < 1 ||
        hops > MEDIA_MAX_HOPS || name == NULL || *name == '\0' || strchr(name, '/') != NULL) {
        sandbox_reply_json(req, 404, json_pack("{s:s}", "error", "no such redirect"));
        return;
    }
    const char *bytes = sandbox_req_query(req, "bytes"),
               *norange = sandbox_req_query(req, "norange");
    char query[96] = "", location[512];
    int q = snprintf(query, sizeof(query), "%s%s%s%s%s", bytes || norange ? "?" : "",
                     bytes ? "bytes=" : "", bytes ? bytes : "", bytes && norange ? "&" : "",
                     norange ? "norange=" : "");
    if (norange && q > 0 && (size_t)q < sizeof(query))
        snprintf(query + q, sizeof(query) - (size_t)q, "%s", norange);
    int n = hops > 1
                ? snprintf(location, sizeof(location), MEDIA_PREFIX MEDIA_REDIRECT "%ld/%ld/%s%s",
                           code, hops - 1, name, query)
                : snprintf(location, sizeof(location), MEDIA_PREFIX "%s%s", name, query);
    if (q < 0 || (size_t)q >= sizeof(query) || n < 0 || (size_t)n >= sizeof(location) ||
        sandbox_reply_header(req, "Location", location) != 0) {
        sandbox_reply_json(req, 500, json_pack("{s:s}", "error", "redirect too long"));
        return;
    }
    sandbox_reply_empty(req, (unsigned)code);
}

static void media_handle(sandbox_request *req) {
    const char *name = sandbox_req_path(req) + strlen(MEDIA_PREFIX);
    if (strncmp(name, MEDIA_REDIRECT, strlen(MEDIA_REDIRECT)) == 0 &&
        strcmp(sandbox_req_method(req), "GET") == 0) {
        media_redirect(req, name + strlen(MEDIA_REDIRECT));
        return;
    }
    const char *dot = strrchr(name, '.'), *type = NULL, *q = sandbox_req_query(req, "bytes");
    const char *norange = sandbox_req_query(req, "norange");
    long n = MEDIA_DEFAULT_BYTES;
    char *end = NULL;
    for (size_t i = 0; dot && i < sizeof(media_types) / sizeof(media_types[0]); i++)
        if (strcasecmp(dot + 1, media_types[i].ext) == 0) type = media_types[i].type;
    if (q) n = strtol(q, &end, 10);
    if (strcmp(sandbox_req_method(req), "GET") != 0 || type == NULL || dot == name ||
        strchr(name, '/') != NULL || (q && (*end != '\0' || n < 1 || n > MEDIA_MAX_BYTES))) {
        sandbox_reply_json(req, 404, json_pack("{s:s}", "error", "no such media"));
        return;
    }
    long first = 0, last = n - 1;
    int ranged = norange && strcmp(norange, "1") == 0
                     ? -1
                     : media_range(sandbox_req_header(req, "Range"), n, &first, &last);
    if (ranged == 1) {
        char cr[64];
        snprintf(cr, sizeof(cr), "bytes */%ld", n);
        if (sandbox_reply_header(req, "Content-Range", cr) != 0) sandbox_log("media: no header");
        sandbox_reply_json(req, 416, json_pack("{s:s}", "error", "range not satisfiable"));
        return;
    }
    if (ranged != 0) first = 0, last = n - 1;
    if (last - first + 1 > MEDIA_MAX_ANSWER) {
        sandbox_reply_json(req, 500,
                           json_pack("{s:s}", "error", "answer too large for the sandbox"));
        return;
    }
    unsigned char *buf = malloc((size_t)(last - first + 1));
    if (buf == NULL) {
        sandbox_reply_json(req, 500, NULL);
        return;
    }
    uint64_t seed = 1469598103934665603ULL; /* FNV-1a of the name: same URL, same bytes */
    for (const char *p = name; *p; p++) seed = (seed ^ (unsigned char)*p) * 1099511628211ULL;
    for (long i = first; i <= last; i++) buf[i - first] = media_byte(seed, i);
    if (ranged == 0) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %ld-%ld/%ld", first, last, n);
        if (sandbox_reply_header(req, "Content-Range", cr) != 0) sandbox_log("media: no header");
    }
    sandbox_reply_bytes(req, ranged == 0 ? 206 : 200, type, buf, (size_t)(last - first + 1));
    free(buf);
}

const sandbox_platform sandbox_media = {"media", MEDIA_PREFIX, media_handle};
