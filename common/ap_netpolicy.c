/* ap_netpolicy.c -- the outbound address policy (see ap_netpolicy.h).
 *
 * One table of IPv4 ranges, one of IPv6 ranges; IPv6 forms that carry an
 * IPv4 address are unwrapped and judged by the IPv4 table, so ::ffff:127.0.0.1
 * is as refused as 127.0.0.1. */
#include "ap_netpolicy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef struct v4_range {
    uint32_t net;
    int prefix;
    const char *why;
} v4_range;

static const v4_range refused_v4[] = {
    {0x00000000, 8, "unspecified"},     /* 0.0.0.0/8 "this network" */
    {0x0a000000, 8, "private"},         /* 10/8 */
    {0x64400000, 10, "shared (CGNAT)"}, /* 100.64/10 */
    {0x7f000000, 8, "loopback"},        /* 127/8 */
    {0xa9fe0000, 16, "link-local"},     /* 169.254/16: 169.254.169.254 metadata */
    {0xac100000, 12, "private"},        /* 172.16/12 */
    {0xc0000000, 24, "reserved"},       /* 192.0.0/24 IETF protocol assignments */
    {0xc0000200, 24, "documentation"},  /* 192.0.2/24 */
    {0xc0a80000, 16, "private"},        /* 192.168/16 */
    {0xc6120000, 15, "benchmarking"},   /* 198.18/15 */
    {0xc6336400, 24, "documentation"},  /* 198.51.100/24 */
    {0xcb007100, 24, "documentation"},  /* 203.0.113/24 */
    {0xe0000000, 4, "multicast"},       /* 224/4 */
    {0xf0000000, 4, "reserved"},        /* 240/4, broadcast included */
};

typedef struct v6_range {
    uint8_t net[16];
    int prefix;
    const char *why;
} v6_range;

static const v6_range refused_v6[] = {
    {{0}, 128, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback"},
    {{0x01, 0x00}, 64, "discard"},                   /* 100::/64 */
    {{0x20, 0x01, 0x00, 0x00}, 32, "Teredo"},        /* 2001::/32 hides its client */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation"}, /* 2001:db8::/32 */
    {{0xfc}, 7, "unique-local"},                     /* fc00::/7: fd00:ec2::254 */
    {{0xfe, 0x80}, 10, "link-local"},                /* fe80::/10 */
    {{0xfe, 0xc0}, 10, "site-local"},                /* fec0::/10 */
    {{0xff}, 8, "multicast"},                        /* ff00::/8 */
};

static bool v4_is_public(uint32_t addr, const char **why) {
    for (size_t i = 0; i < sizeof(refused_v4) / sizeof(refused_v4[0]); i++) {
        uint32_t mask = 0xffffffffu << (32 - refused_v4[i].prefix);
        if ((addr & mask) == refused_v4[i].net) {
            *why = refused_v4[i].why;
            return false;
        }
    }
    return true;
}

static bool v6_in(const uint8_t *a, const v6_range *r) {
    int whole = r->prefix / 8, bits = r->prefix % 8;
    if (memcmp(a, r->net, (size_t)whole) != 0) return false;
    if (bits == 0) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - bits));
    return (a[whole] & mask) == (r->net[whole] & mask);
}

static uint32_t v4_at(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool v6_is_public(const uint8_t *a, const char **why) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t compat[12] = {0};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    for (size_t i = 0; i < sizeof(refused_v6) / sizeof(refused_v6[0]); i++) {
        if (v6_in(a, &refused_v6[i])) {
            *why = refused_v6[i].why;
            return false;
        }
    }
    /* ::ffff:a.b.c.d, ::a.b.c.d and 64:ff9b::a.b.c.d reach a.b.c.d. */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, compat, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return v4_is_public(v4_at(a + 12), why);
    if (a[0] == 0x20 && a[1] == 0x02) return v4_is_public(v4_at(a + 2), why); /* 6to4 */
    return true;
}

bool ap_netpolicy_address_is_public(const struct sockaddr *sa, size_t len, const char **why) {
    const char *unused;
    if (why == NULL) why = &unused;
    *why = "not an IP address";
    if (sa == NULL) return false;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_is_public(ntohl(in->sin_addr.s_addr), why);
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return v6_is_public(in6->sin6_addr.s6_addr, why);
    }
    return false;
}

bool ap_netpolicy_url_is_loopback(const char *url) {
    const char *host = url ? strstr(url, "://") : NULL;
    if (host == NULL) return false;
    host += 3;
    const char *end = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(end - host));
    if (at) host = at + 1;
    char name[64];
    size_t n;
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL) return false;
        n = (size_t)(close - host - 1);
        if (n >= sizeof(name)) return false;
        memcpy(name, host + 1, n);
    } else {
        n = strcspn(host, ":/?#");
        if (n >= sizeof(name)) return false;
        memcpy(name, host, n);
    }
    name[n] = '\0';
    if (strcasecmp(name, "localhost") == 0) return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, name, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, name, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}
