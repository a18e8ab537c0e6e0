/* ap_status.h -- the one status type every autopost function returns.
 *
 * Functions return AP_OK or an error code and, where a person needs the
 * details, fill a caller-owned message buffer (char *err, size_t errlen).
 * Keeping one type everywhere (like curl's CURLcode) means a caller never has
 * to translate between libraries' conventions. */
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
