/* ap_utf8.h -- the one definition of well-formed UTF-8 (libunistring's).
 *
 * Well-formed means RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF -- the same rule PostgreSQL applies, so text that passes
 * here is never refused by the database. Everything that counts, checks or
 * scrubs UTF-8 calls these instead of decoding bytes itself. */
#ifndef AP_UTF8_H
#define AP_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool ap_utf8_valid(const char *s);
/* Number of code points in s, or -1 if s is not well-formed. */
long ap_utf8_length(const char *s);
/* Length in bytes of the well-formed character at p (1-4), or 0 if the
 * bytes at p do not start one (a NUL at p also gives 0). */
size_t ap_utf8_char_len(const char *p);

#endif
