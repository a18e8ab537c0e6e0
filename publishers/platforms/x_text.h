/* x_text.h -- how X counts a post's length (twitter-text v3 configuration).
 *
 * X does not count characters or bytes: it counts "weighted" length. The
 * text is NFC-normalised first; then every code point weighs 200 except those
 * in the ranges U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and
 * U+2032-U+2037, which weigh 100; every URL weighs 23 x 100 whatever its
 * length; every emoji sequence (a flag, a keycap, a ZWJ family, an emoji with
 * a skin tone or a variation selector) weighs 200 as a whole. The sum divided
 * by the scale (100) must be at most 280. So Latin text gets 280 characters,
 * while Vietnamese letters with tone marks (U+1EA0-U+1EF9 after NFC), CJK and
 * most other scripts get 140.
 *
 * URLs: "http://" or "https://" followed by a host with a dot, and bare
 * domains (example.com/path) the way twitter-text finds them: a generic TLD
 * from a built-in list of common ones, or a two-letter country TLD when the
 * domain has a sub-domain, a path, or is .co/.tv; never after @, $, # or a
 * letter/digit (e-mail addresses are not URLs). See x_text.c for the details
 * we simplify. Used by the X adapter (validation, read-back matching) and
 * reusable by autopostctl through the adapters library. */
#ifndef AP_X_TEXT_H
#define AP_X_TEXT_H

#include <stddef.h>

#define AP_X_MAX_WEIGHTED 280
#define AP_X_URL_WEIGHT 23

/* Weighted length of UTF-8 text as X counts it (already divided by the
 * scale, rounded down like twitter-text). Returns -1 when the text is not
 * valid UTF-8 or cannot be normalised (out of memory). */
long ap_x_weighted_length(const char *text);

/* Calls cb(start, len, ud) for each URL found in s[0..n) (byte offsets), in
 * order. The text should already be NFC. Returns the number of URLs. */
typedef void (*ap_x_url_cb)(size_t start, size_t len, void *ud);
size_t ap_x_find_urls(const char *s, size_t n, ap_x_url_cb cb, void *ud);

/* The NFC form of text, malloc'ed; NULL when invalid UTF-8 or out of memory. */
char *ap_x_nfc(const char *text);

#endif
