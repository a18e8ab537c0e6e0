/* linkedin.h -- what the LinkedIn adapter shares with tests and tools. */
#ifndef AP_LINKEDIN_H
#define AP_LINKEDIN_H

/* text with LinkedIn "little text format" reserved characters
 * ( ) [ ] { } < > @ | ~ _ * \ escaped by a backslash, as commentary must be.
 * malloc'ed; NULL when out of memory. */
char *ap_linkedin_escape(const char *text);

#endif
