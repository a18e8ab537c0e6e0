/* util.c -- the sandbox core's small utilities: the log line, the two
 * clocks, a seedable RNG, key joining, a growable text buffer and array
 * growth by doubling. No state of their own beyond the RNG streams kept in
 * the server struct.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"

void sandbox_log(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("autopost-sandbox: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t sandbox_clock_ms(clockid_t clk) {
    struct timespec ts;
    if (clock_gettime(clk, &ts) != 0) return 0; /* cannot fail on Linux */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sandbox_mono_ms(void) { return sandbox_clock_ms(CLOCK_MONOTONIC); }
int64_t sandbox_wall_ms(void) { return sandbox_clock_ms(CLOCK_REALTIME); }

/* splitmix64: tiny, good enough for fault injection, trivially seedable. */
uint64_t sandbox_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double sandbox_rng_unit(uint64_t *state) {
    return (double)(sandbox_rng_next(state) >> 11) / 9007199254740992.0;
}

void sandbox_rng_seed_locked(uint64_t seed) {
    server.seed = seed;
    server.rng = seed;
    /* A separate stream for cosmetic randomness (trace ids) so that
     * formatting changes never shift which requests get faults. */
    server.rng_aux = seed ^ 0x5a5a5a5a5a5a5a5aULL;
}

int sandbox_has_prefix_ci(const char *s, const char *prefix) {
    return s != NULL && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

char *sandbox_strdup_or_null(const char *s) { return s == NULL ? NULL : strdup(s); }

/* Joins two or three key parts with SANDBOX_SEP; c may be NULL. */
char *sandbox_key(const char *a, const char *b, const char *c) {
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) + 1 : 0) + 2;
    char *k = malloc(n);
    if (k == NULL) return NULL;
    snprintf(k, n, "%s" SANDBOX_SEP "%s%s%s", a, b, c ? SANDBOX_SEP : "", c ? c : "");
    return k;
}

void sandbox_buf_add(sandbox_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sandbox_buf_str(sandbox_buf *b, const char *s) { sandbox_buf_add(b, s, strlen(s)); }

int sandbox_reserve(void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need) n *= 2;
    void *p = realloc(*arr, n * elem);
    if (p == NULL) return -1;
    *arr = p;
    *cap = n;
    return 0;
}

/* POSIX cksum: CRC-32, polynomial 0x04C11DB7, MSB first, length folded in. */
uint32_t sandbox_crc_step(uint32_t crc, unsigned char byte) {
    crc ^= (uint32_t)byte << 24;
    for (int i = 0; i < 8; i++) crc = crc & 0x80000000u ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    return crc;
}

uint32_t sandbox_crc_update(uint32_t crc, const unsigned char *data, size_t len) {
    static uint32_t table[256];
    static int ready; /* only the MHD thread calls this; built once */
    if (!ready) {
        for (unsigned b = 0; b < 256; b++) table[b] = sandbox_crc_step(0, (unsigned char)b);
        ready = 1;
    }
    for (size_t i = 0; i < len; i++) crc = (crc << 8) ^ table[(crc >> 24) ^ data[i]];
    return crc;
}

uint32_t sandbox_cksum_finish(uint32_t crc, unsigned long long len) {
    for (; len; len >>= 8) crc = sandbox_crc_step(crc, (unsigned char)(len & 0xFF));
    return ~crc;
}
