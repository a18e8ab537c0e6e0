/* media.c -- a stand-in for the web servers that host a post's images, under
 * /media/, so publishers that must download media before uploading it (X)
 * have something to fetch without the internet.
 *
 *   GET /media/{name}.{jpg|jpeg|png|gif|webp|txt}[?bytes=N]
 *     -> 200, N bytes (default 2048, at most 16 MiB) with the extension's
 *        Content-Type; the bytes depend only on the name and N
 *   anything else -> 404
 *
 * Not a platform: no tokens, no faults, nothing recorded in the post store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"

#define MEDIA_PREFIX "/media/"
#define MEDIA_DEFAULT_BYTES 2048
#define MEDIA_MAX_BYTES (16L * 1024 * 1024)

static const struct {
    const char *ext, *type;
} media_types[] = {
    {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"png", "image/png"},
    {"gif", "image/gif"},  {"webp", "image/webp"}, {"txt", "text/plain"},
};

static void media_handle(sandbox_request *req) {
    const char *name = sandbox_req_path(req) + strlen(MEDIA_PREFIX);
    const char *dot = strrchr(name, '.'), *type = NULL, *q = sandbox_req_query(req, "bytes");
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
    unsigned char *buf = malloc((size_t)n);
    if (buf == NULL) {
        sandbox_reply_json(req, 500, NULL);
        return;
    }
    uint64_t x = 1469598103934665603ULL; /* seeded by the name: same URL, same bytes */
    for (const char *p = name; *p; p++) x = (x ^ (unsigned char)*p) * 1099511628211ULL;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    sandbox_reply_bytes(req, 200, type, buf, (size_t)n);
    free(buf);
}

const sandbox_platform sandbox_media = {"media", MEDIA_PREFIX, media_handle};
