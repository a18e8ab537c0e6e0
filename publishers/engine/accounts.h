/* accounts.h -- what the publishers of all replicas share about accounts.
 *
 * The KV bucket autopost_accounts holds three kinds of key per account:
 *
 *   reauth.<account id>   the platform refused this credential: digest of
 *                         the sealed blob, its issued_at and the platform's
 *                         message. Jobs whose credential is that one (or
 *                         older) fail as REAUTH without any HTTP call. A new
 *                         credential (`autopostctl accounts set-credential`,
 *                         a different blob, newer) calls again: nothing has
 *                         to delete the key.
 *   cred.<account id>     the newest credential a publisher refreshed,
 *                         sealed (base64): jobs still carrying the older
 *                         sealed credential from PostgreSQL use this one.
 *   refresh.<account id>  the lock of a refresh in progress (refresh.h).
 *   pause.<account id>    the platform said slow down for this account
 *   pause.app.<platform>  (or, app., for every account of the platform):
 *                         until when. A job of a paused account is deferred
 *                         without any HTTP call (README "Rate limits"). A
 *                         later until wins; deleting the key lifts the pause.
 *
 * Every replica watches the whole bucket (kvStore_WatchAll) on its own
 * thread into a local table, so the per-job check is a hash lookup under a
 * mutex, never a network round trip. A replica also applies its own writes
 * to the table at once, so its next job sees them without waiting for the
 * watch. Values are one readable line (`nats kv get autopost_accounts ...`);
 * the credential is the only binary part and is sealed. */
#ifndef AP_ACCOUNTS_H
#define AP_ACCOUNTS_H

#include <nats/nats.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "ap_crypto.h"
#include "ap_status.h"
#include "refresh.h"

typedef struct ap_accounts ap_accounts;

/* A copy of what is known about one account. */
typedef struct ap_acct_view {
    bool reauth;
    char reauth_digest[AP_CRYPTO_DIGEST_HEX_LEN];
    int64_t reauth_issued_at_ms;
    char reauth_reason[512];
    uint8_t *cred; /* malloc'ed sealed credential, only when asked for */
    size_t cred_len;
    int64_t cred_issued_at_ms; /* 0: none shared */
    ap_refresh_lock lock;
} ap_acct_view;

ap_status ap_accounts_new(ap_accounts **out);
void ap_accounts_free(ap_accounts *a); /* stops the watcher first; NULL is a no-op */

/* Starts the watcher thread on kv (borrowed; must outlive the watcher). */
ap_status ap_accounts_watch(ap_accounts *a, kvStore *kv);
/* True once the watcher has delivered the bucket's initial contents. */
bool ap_accounts_synced(ap_accounts *a);

/* Applies one KV entry (also what the watcher does). key is the full key. */
void ap_accounts_apply(ap_accounts *a, const char *key, const char *value, size_t len, bool deleted,
                       uint64_t revision);

/* Fills v; copies the shared credential only when it is newer than
 * newer_than_ms. Returns false when nothing is known (v zeroed). */
bool ap_accounts_lookup(ap_accounts *a, const char *account_id, int64_t newer_than_ms,
                        ap_acct_view *v);
void ap_acct_view_clear(ap_acct_view *v);

/* The latest pause end (epoch ms) of the account or of its platform's app,
 * 0 when neither is paused; copies that pause's reason (may be NULL) and
 * sets *app when the app's pause is the one that ends later. */
int64_t ap_accounts_paused_until(ap_accounts *a, const char *account_id, const char *platform,
                                 char *reason, size_t len, bool *app);

/* Does the reauth mark apply to a credential with this digest/issued_at? */
bool ap_acct_blocked(const ap_acct_view *v, const char *digest, int64_t issued_at_ms);

/* ---- values (formatting and parsing, for the runtime and tests) ---------- */

void ap_acct_key(char *buf, size_t len, const char *kind, const char *account_id);
/* Each returns a malloc'ed line; NULL when out of memory. */
char *ap_acct_reauth_value(const char *digest, int64_t issued_at_ms, int64_t at_ms,
                           const char *instance, const char *reason);
char *ap_acct_cred_value(const uint8_t *sealed, size_t len, int64_t issued_at_ms,
                         const char *instance);
/* The sealed blob (malloc'ed) and issued_at of a cred.<account id> value;
 * AP_EINVAL when it has no well-formed blob. */
ap_status ap_acct_cred_parse(const char *value, uint8_t **sealed, size_t *len,
                             int64_t *issued_at_ms);
char *ap_acct_lock_value(bool ambiguous, int64_t at_ms, const char *instance);
/* pause.app.<platform>'s key (pause.<account id> is ap_acct_key "pause"). */
void ap_acct_app_pause_key(char *buf, size_t len, const char *platform);
char *ap_acct_pause_value(int64_t until_ms, int64_t at_ms, const char *instance,
                          const char *reason);

#endif
