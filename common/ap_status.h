/* ap_status.h -- the one status type for operations that can fail.
 *
 * An operation that can fail in ways a caller must tell apart (files,
 * sockets, NATS, PostgreSQL, decoding, crypto, out of memory) returns
 * AP_OK or an error code and, where a person needs the details, fills a
 * caller-owned message buffer (char *err, size_t errlen). Keeping one type
 * for those (like curl's CURLcode) means a caller never has to translate
 * between libraries' conventions.
 *
 * Three smaller shapes are kept on purpose, because the only question they
 * answer is yes or no and an error code would say nothing more:
 *   - predicates return bool: ap_uuid_valid, ap_utf8_valid, ap_pg_alive,
 *     ap_refresh_due; so do appends whose only failure is memory
 *     (ap_buf_append);
 *   - parsers of one short value return 0 or -1: ap_time_parse_rfc3339,
 *     ap_duration_parse, ap_log_level_parse, ap_http_request_add_header;
 *   - a few return a number whose meaning their header states: a count
 *     (ap_js_fetch_batch), an exit status or -1 to carry on
 *     (ap_config_setup, ap_service_setup), an HTTP status (ap_health_*).
 * A new function that can fail in more than one way returns ap_status. */
#ifndef AP_STATUS_H
#define AP_STATUS_H

typedef enum ap_status {
    AP_OK = 0,
    AP_EINVAL, /* bad input: config, arguments, message bytes */
    AP_ENOMEM,
    AP_EIO,   /* files, sockets */
    AP_ENATS, /* NATS / JetStream request failed */
    AP_EPG,   /* PostgreSQL statement or connection failed */
    AP_ETIMEOUT,
    AP_ENOTFOUND,
    AP_ECONFLICT, /* compare-and-set lost, row moved on */
    AP_ECRYPTO
} ap_status;

const char *ap_status_str(ap_status s);

#endif
