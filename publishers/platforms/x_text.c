/* x_text.c -- X's weighted length (see x_text.h for the rules).
 *
 * Written from twitter-text's published v3 configuration and its URL rules,
 * simplified where X itself is lenient or where the difference cannot make
 * us accept a post X refuses by much:
 *   - code points are counted once each (like the Java library), so a
 *     non-emoji character outside the BMP weighs 2, not 4 as the JavaScript
 *     library's UTF-16 loop would make it;
 *   - the generic TLD list is the common ones, not IANA's full list: a bare
 *     domain with an unlisted TLD is counted as its characters, which only
 *     over-counts (a URL never weighs less than 23 when shorter than that
 *     only for rare 1-2 letter hosts);
 *   - unicode host names are accepted after "https://" but not as bare
 *     domains;
 *   - emoji sequences are recognised structurally (pictographic base, then
 *     variation selectors, skin tones, tag sequences and ZWJ joins, flag
 *     pairs, keycaps) instead of with the full Unicode emoji list. */
#include "x_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uninorm.h>
#include <unistr.h>

#define X_SCALE 100
#define X_DEFAULT_WEIGHT 200

typedef struct x_range {
    uint32_t lo, hi;
} x_range;

/* twitter-text v3 "ranges" with weight 100. */
static const x_range light_ranges[] = {
    {0x0000, 0x10FF},
    {0x2000, 0x200D},
    {0x2010, 0x201F},
    {0x2032, 0x2037},
};

/* Code points that start an emoji sequence by themselves (© and ® only
 * with U+FE0F, handled by the caller). */
static const x_range pictographic[] = {
    {0x203C, 0x203C},   {0x2049, 0x2049},   {0x2122, 0x2122}, {0x2139, 0x2139}, {0x2194, 0x21AA},
    {0x231A, 0x23FF},   {0x24C2, 0x24C2},   {0x25AA, 0x25FE}, {0x2600, 0x27BF}, {0x2934, 0x2935},
    {0x2B05, 0x2B55},   {0x3030, 0x3030},   {0x303D, 0x303D}, {0x3297, 0x3297}, {0x3299, 0x3299},
    {0x1F000, 0x1F1E5}, {0x1F200, 0x1FAFF},
};

static const char *const generic_tlds[] = {
    "com",   "net",    "org",     "edu",    "gov",  "mil",   "int",   "info",   "biz",
    "name",  "pro",    "mobi",    "asia",   "app",  "dev",   "xyz",   "online", "site",
    "shop",  "store",  "tech",    "blog",   "news", "cloud", "live",  "life",   "world",
    "today", "space",  "website", "club",   "top",  "link",  "page",  "art",    "aero",
    "coop",  "jobs",   "museum",  "travel", "tel",  "cat",   "media", "agency", "digital",
    "email", "studio", "design",  "games",  "love", "vip",   "work",  "tv",     "co",
};

static bool in_ranges(uint32_t c, const x_range *r, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].lo && c <= r[i].hi) return true;
    return false;
}

/* Decodes the code point at s[i] (valid UTF-8 assumed); returns its length. */
static size_t cp_at(const char *s, size_t n, size_t i, uint32_t *cp) {
    ucs4_t uc = 0;
    int len = u8_mbtouc(&uc, (const uint8_t *)s + i, n - i);
    *cp = uc;
    return len > 0 ? (size_t)len : 1;
}

static bool is_ascii_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_regional(uint32_t c) { return c >= 0x1F1E6 && c <= 0x1F1FF; }

/* Length in bytes of the emoji sequence starting at s[i], 0 when none. */
static size_t emoji_len(const char *s, size_t n, size_t i) {
    uint32_t c, next;
    size_t j = i + cp_at(s, n, i, &c);
    if (is_regional(c)) {
        if (j < n && (cp_at(s, n, j, &next), is_regional(next))) j += cp_at(s, n, j, &next);
        return j - i;
    }
    if (c < 0x80 && (is_ascii_alnum((unsigned char)c) || c == '#' || c == '*')) {
        if (c >= 'A') return 0; /* letters are never keycaps */
        size_t k = j;
        if (k < n && cp_at(s, n, k, &next) && next == 0xFE0F) k += cp_at(s, n, k, &next);
        if (k < n && cp_at(s, n, k, &next) && next == 0x20E3) return k + cp_at(s, n, k, &next) - i;
        return 0;
    }
    bool base = in_ranges(c, pictographic, sizeof(pictographic) / sizeof(pictographic[0]));
    if (!base && (c == 0xA9 || c == 0xAE)) /* © ® are text unless asked to be emoji */
        base = j < n && cp_at(s, n, j, &next) && next == 0xFE0F;
    if (!base) return 0;
    for (;;) {
        while (j < n) { /* modifiers of the current element */
            size_t l = cp_at(s, n, j, &next);
            if (next == 0xFE0F || next == 0xFE0E || (next >= 0x1F3FB && next <= 0x1F3FF) ||
                (next >= 0xE0020 && next <= 0xE007F) || next == 0x20E3)
                j += l;
            else
                break;
        }
        if (j >= n) break;
        size_t l = cp_at(s, n, j, &next);
        if (next != 0x200D || j + l >= n) break;
        uint32_t after;
        size_t l2 = cp_at(s, n, j + l, &after);
        if (!in_ranges(after, pictographic, sizeof(pictographic) / sizeof(pictographic[0]))) break;
        j += l + l2; /* ZWJ + the next element of the same sequence */
    }
    return j - i;
}

/* ---- URLs ---------------------------------------------------------------- */

/* Characters that may not come right before a URL (twitter-text's
 * validUrlPrecedingChars, ASCII part) */
static bool bad_preceding(const char *s, size_t i, bool bare) {
    if (i == 0) return false;
    unsigned char c = (unsigned char)s[i - 1];
    if (is_ascii_alnum(c) || c == '@' || c == '$' || c == '#') return true;
    return bare && (c == '-' || c == '_' || c == '.' || c == '/');
}

/* Non-ASCII letters twitter-text accepts inside a URL path: Latin with
 * accents (incl. Vietnamese) and Cyrillic. */
static bool path_unicode_ok(uint32_t c) {
    return (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x400 && c <= 0x4FF) ||
           (c >= 0x1E00 && c <= 0x1EFF);
}

static bool path_ascii_ok(unsigned char c) {
    return c > 0x20 && c < 0x7F && c != '"' && c != '<' && c != '>' && c != '`' && c != '{' &&
           c != '}' && c != '|' && c != '\\' && c != '^';
}

/* A URL may not end in punctuation ("see example.com/a." ends before '.'). */
static bool ending_ok(unsigned char c) {
    return is_ascii_alnum(c) || c == '=' || c == '_' || c == '#' || c == '/' || c == '+' ||
           c == '-' || c == '&' || c >= 0x80;
}

/* Port, path, query after the host ending at s[j]; returns the URL's end. */
static size_t url_tail(const char *s, size_t n, size_t start, size_t j) {
    if (j < n && s[j] == ':' && j + 1 < n && s[j + 1] >= '0' && s[j + 1] <= '9') {
        j++;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
    }
    if (j < n && (s[j] == '/' || s[j] == '?' || s[j] == '#')) {
        int parens = 0;
        while (j < n) {
            unsigned char c = (unsigned char)s[j];
            uint32_t cp;
            size_t l = cp_at(s, n, j, &cp);
            if (c < 0x80 ? !path_ascii_ok(c) : !path_unicode_ok(cp)) break;
            if (c == '(') parens++;
            if (c == ')') parens--;
            j += l;
        }
        /* Trim trailing punctuation and an unbalanced closing parenthesis. */
        while (j > start) {
            unsigned char c = (unsigned char)s[j - 1];
            if (c == ')' && parens >= 0) break;
            if (c == ')') {
                parens++;
                j--;
                continue;
            }
            if (ending_ok(c)) break; /* bytes >= 0x80 too: never cut a character */
            j--;
        }
    }
    return j;
}

static bool is_tld_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool generic_tld(const char *s, size_t len) {
    for (size_t i = 0; i < sizeof(generic_tlds) / sizeof(generic_tlds[0]); i++)
        if (strlen(generic_tlds[i]) == len && strncasecmp(generic_tlds[i], s, len) == 0)
            return true;
    return false;
}

/* "http(s)://host..." at s[i]; returns the URL length or 0. */
static size_t scheme_url(const char *s, size_t n, size_t i) {
    size_t j;
    if (n - i > 8 && strncasecmp(s + i, "https://", 8) == 0)
        j = i + 8;
    else if (n - i > 7 && strncasecmp(s + i, "http://", 7) == 0)
        j = i + 7;
    else
        return 0;
    if (bad_preceding(s, i, false)) return 0;
    size_t host = j, last_dot = 0;
    while (j < n) {
        unsigned char c = (unsigned char)s[j];
        uint32_t cp;
        size_t l = cp_at(s, n, j, &cp);
        if (c == '.')
            last_dot = j;
        else if (!(is_ascii_alnum(c) || c == '-' || c == '_' ||
                   (c >= 0x80 && cp > 0x7F && path_unicode_ok(cp))))
            break;
        j += l;
    }
    /* A host needs a dot and a TLD of at least two letters after it. */
    if (last_dot <= host || j - last_dot < 3) return 0;
    for (size_t k = last_dot + 1; k < j; k++)
        if (!is_tld_char((unsigned char)s[k]) && (unsigned char)s[k] < 0x80) return 0;
    return url_tail(s, n, i, j) - i;
}

/* A bare domain at s[i] ("example.com", "www.example.vn/a"); length or 0. */
static size_t bare_url(const char *s, size_t n, size_t i) {
    if (!is_ascii_alnum((unsigned char)s[i]) || bad_preceding(s, i, true)) return 0;
    size_t ends[16], nlabels = 0, j = i;
    while (j < n && nlabels < 16) {
        size_t k = j;
        while (k < n && (is_ascii_alnum((unsigned char)s[k]) || s[k] == '-' || s[k] == '_')) k++;
        if (k == j) break;
        ends[nlabels++] = k;
        if (k + 1 < n && s[k] == '.' && is_ascii_alnum((unsigned char)s[k + 1]))
            j = k + 1;
        else
            break;
    }
    /* The longest prefix that ends in a known TLD at a word boundary. */
    for (size_t t = nlabels; t-- > 1;) {
        size_t end = ends[t], tld_start = ends[t - 1] + 1, tld_len = end - tld_start;
        if (end < n && (is_ascii_alnum((unsigned char)s[end]) || s[end] == '@' || s[end] == '-' ||
                        s[end] == '_' || (unsigned char)s[end] >= 0x80))
            continue;
        bool ok = true;
        for (size_t k = tld_start; k < end; k++) ok = ok && is_tld_char((unsigned char)s[k]);
        if (!ok) continue;
        bool gtld = generic_tld(s + tld_start, tld_len);
        bool cctld = tld_len == 2;
        if (!gtld && !cctld) continue;
        bool has_path = end < n && s[end] == '/';
        /* twitter-text leaves "name.vn" alone unless it has a path or a
         * sub-domain; .co and .tv are the exceptions it links anyway. */
        if (cctld && !gtld && t == 1 && !has_path) return 0;
        return url_tail(s, n, i, end) - i;
    }
    return 0;
}

size_t ap_x_find_urls(const char *s, size_t n, ap_x_url_cb cb, void *ud) {
    size_t count = 0, i = 0;
    while (i < n) {
        size_t len = scheme_url(s, n, i);
        if (len == 0) len = bare_url(s, n, i);
        if (len > 0) {
            if (cb) cb(i, len, ud);
            count++;
            i += len;
            continue;
        }
        /* Skip the rest of a word: a URL never starts inside one. */
        uint32_t cp;
        i += cp_at(s, n, i, &cp);
    }
    return count;
}

/* ---- counting ------------------------------------------------------------ */

char *ap_x_nfc(const char *text) {
    size_t n = strlen(text), out_len = 0;
    if (u8_check((const uint8_t *)text, n) != NULL) return NULL;
    uint8_t *out = u8_normalize(UNINORM_NFC, (const uint8_t *)text, n, NULL, &out_len);
    if (out == NULL) return NULL;
    char *z = realloc(out, out_len + 1);
    if (z == NULL) {
        free(out);
        return NULL;
    }
    z[out_len] = '\0';
    return z;
}

typedef struct url_marks {
    size_t *start, *len;
    size_t n, cap;
    bool oom;
} url_marks;

static void mark_url(size_t start, size_t len, void *ud) {
    url_marks *m = ud;
    if (m->oom) return;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        size_t *s = realloc(m->start, cap * sizeof(*s));
        if (s) m->start = s;
        size_t *l = s ? realloc(m->len, cap * sizeof(*l)) : NULL;
        if (l) m->len = l;
        if (s == NULL || l == NULL) {
            m->oom = true;
            return;
        }
        m->cap = cap;
    }
    m->start[m->n] = start;
    m->len[m->n] = len;
    m->n++;
}

long ap_x_weighted_length(const char *text) {
    char *s = ap_x_nfc(text ? text : "");
    if (s == NULL) return -1;
    size_t n = strlen(s), i = 0, u = 0;
    url_marks m = {0};
    ap_x_find_urls(s, n, mark_url, &m);
    long total = -1;
    if (m.oom) goto cleanup;
    total = 0;
    while (i < n) {
        if (u < m.n && m.start[u] == i) {
            total += AP_X_URL_WEIGHT * X_SCALE;
            i += m.len[u++];
            continue;
        }
        size_t e = emoji_len(s, n, i);
        if (e > 0) {
            total += X_DEFAULT_WEIGHT;
            i += e;
            continue;
        }
        uint32_t c;
        i += cp_at(s, n, i, &c);
        total += in_ranges(c, light_ranges, sizeof(light_ranges) / sizeof(light_ranges[0]))
                     ? X_SCALE
                     : X_DEFAULT_WEIGHT;
    }
    total /= X_SCALE;
cleanup:
    free(m.start);
    free(m.len);
    free(s);
    return total;
}
