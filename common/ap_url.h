/* ap_url.h -- what autopost accepts as a post's link or media URL.
 *
 * One rule for autopostctl (which explains a refusal to a person) and the
 * publisher's adapters (which refuse a job): http:// or https://, a host,
 * at most AP_URL_MAX bytes, no space or control character, valid UTF-8.
 * Where a URL may be fetched (SSRF) is a separate question, not this one. */
#ifndef AP_URL_H
#define AP_URL_H

/* Longest URL autopost accepts for a link or media item, or follows from
 * a platform (Graph paging, LinkedIn upload URLs): the de facto limit
 * browsers and platform APIs honour. */
#define AP_URL_MAX 2048

typedef enum ap_url_verdict {
    AP_URL_OK = 0,
    AP_URL_BAD_SCHEME, /* not http:// or https:// */
    AP_URL_NO_HOST,
    AP_URL_TOO_LONG,     /* longer than AP_URL_MAX bytes */
    AP_URL_CONTROL_CHAR, /* a space or control character */
    AP_URL_NOT_UTF8
} ap_url_verdict;

ap_url_verdict ap_url_check(const char *url);

#endif
