/* ap_status.c -- names for ap_status codes, for logs and CLI messages. */
#include "ap_status.h"

const char *ap_status_str(ap_status s) {
    switch (s) {
    case AP_OK: return "ok";
    case AP_EINVAL: return "invalid input";
    case AP_ENOMEM: return "out of memory";
    case AP_EIO: return "i/o error";
    case AP_ENATS: return "nats error";
    case AP_EPG: return "postgresql error";
    case AP_ETIMEOUT: return "timed out";
    case AP_ENOTFOUND: return "not found";
    case AP_ECONFLICT: return "conflict";
    case AP_ECRYPTO: return "crypto error";
    }
    return "unknown status";
}
