#!/usr/bin/env bash
# OAuth 2.0 refresh with single-use rotating refresh tokens, across four
# publisher replicas: one account whose access token has expired and which
# has a refresh token, many posts. The sandbox's token endpoint must see
# exactly one refresh for the account (one replica holds the lock in KV
# autopost_accounts, the others wait and use the credential it shares), every
# post is published once, and PostgreSQL ends up holding the new sealed
# credential (stored by the dispatcher from the results; the publishers never
# write PostgreSQL). When that access token expires in turn, the next posts
# refresh again with the rotated refresh token (a reuse of the first one
# would be answered invalid_grant and fail the account).
#
# Facebook page tokens have no refresh tokens. The refresh path is generic
# (RFC 6749 section 6, driven by platforms.<name>.token_url), so this test
# points facebook's token_url at the sandbox's X token endpoint
# (/x/2/oauth2/token) and publishes through the Facebook adapter: the sandbox
# Facebook accepts the tokens the sandbox issued until their expiry and
# refuses the initial "expired*" one, so a post that skipped the refresh
# would fail.
source "$(dirname "$0")/lib.sh"

e2e_begin
# Tokens the sandbox issues live 20 s; publishers refresh 2 s before expiry.
sandbox_post /_sandbox/config '{"token_ttl_s": 20}' >/dev/null
sed -i "/^  facebook:\$/a\\    token_url: $SANDBOX_URL/x/2/oauth2/token\\n    client_id: autopost-e2e\\n    token_refresh_margin: 2s" "$AUTOPOST_CONFIG"
svc_ctl streams apply >/dev/null || fail "config with token_url refused"

account=$(svc_ctl accounts add --platform facebook --external-id 3001 --token expired-at-start \
    --refresh-token rt-acct3001 --expires-in 0) || fail "accounts add with a refresh token"
plain=$(svc_ctl accounts add --platform facebook --external-id 3002 --token plain-token)

# open_credential ACCOUNT: the sealed credential PostgreSQL holds, opened with
# the stack's key (AES-256-GCM, common/ap_crypto.h: associated data is the
# blob's header plus "facebook/<account id>"), as JSON. The tool uses OpenSSL directly,
# not the code under test.
open_credential() {
    stack_psql -c "SELECT encode(credentials, 'hex') FROM social_accounts WHERE id = '$1'" |
        "$AUTOPOST_BIN/../tests/open_credential" "$AUTOPOST_CREDENTIALS_KEY_FILE" facebook "$1"
}
before=$(open_credential "$account")
# ...and it can say no: the same blob under another account id, or as
# another platform's credential, does not open.
if stack_psql -c "SELECT encode(credentials, 'hex') FROM social_accounts WHERE id = '$account'" |
    "$AUTOPOST_BIN/../tests/open_credential" "$AUTOPOST_CREDENTIALS_KEY_FILE" facebook "$plain" >/dev/null 2>&1; then
    fail "open_credential opened a credential under another account's id"
fi
if stack_psql -c "SELECT encode(credentials, 'hex') FROM social_accounts WHERE id = '$account'" |
    "$AUTOPOST_BIN/../tests/open_credential" "$AUTOPOST_CREDENTIALS_KEY_FILE" instagram "$account" >/dev/null 2>&1; then
    fail "a facebook credential opened as an instagram one: the platform is not bound"
fi
[[ $(jq -r .refresh_token <<<"$before") == rt-acct3001 ]] || fail "stored credential: $before"

# insert_posts ACCOUNT N PREFIX: N schedules due now.
insert_posts() {
    stack_psql -v account="$1" -v n="$2" -v prefix="$3" <<'SQL' >/dev/null
WITH p AS (INSERT INTO posts (text) SELECT :'prefix' || ' ' || g FROM generate_series(1, :n) g RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at) SELECT p.id, (:'account')::uuid, now() FROM p;
SQL
}
insert_posts "$account" 200 "first wave"
insert_posts "$plain" 20 "plain account"

svc_start scheduler
svc_start dispatcher
for r in 1 2 3 4; do svc_start "publisher-facebook@$r"; done
svc_wait_terminal 220 120 || fail "the first wave did not finish"
check_exactly_once 220 || fail "first wave: not exactly once"

refreshes() { sandbox_get /_sandbox/stats | jq ".oauth.refreshes[\"rt-acct3001\"] // 0"; }
[[ $(refreshes) == 1 ]] || fail "the token endpoint saw $(refreshes) refreshes for the account, expected 1"
[[ $(sandbox_get /_sandbox/stats | jq '.oauth.invalid_grant') == 0 ]] || fail "a refresh token was reused"
[[ $(sandbox_get /_sandbox/stats | jq '.errors["190"] // 0') == 0 ]] || fail "a post used the expired token"
waited=0
for r in 1 2 3 4; do waited=$((waited + $(log_count "publisher-facebook@$r" token_shared))); done
echo "ok: 220 posts published once, one refresh for the account ($waited jobs took another replica's token)"

# PostgreSQL holds the refreshed credential (stored by the dispatcher).
stored_refreshed() { [[ $(open_credential "$account" | jq -r .refresh_token) == rt-acct3001.r* ]]; }
stack_wait_for stored_refreshed >/dev/null || fail "PostgreSQL still holds $(open_credential "$account" | jq -c 'del(.access_token, .refresh_token)')"
first=$(open_credential "$account")
[[ $(jq -r .access_token <<<"$first") == sbx-at.rt-acct3001.* ]] || fail "stored access token is not the issued one"
(($(jq .issued_at_ms <<<"$first") > $(jq .issued_at_ms <<<"$before"))) || fail "issued_at did not move"
[[ $(stack_psql -c "SELECT credentials_issued_at_ms FROM social_accounts WHERE id = '$account'") == $(jq .issued_at_ms <<<"$first") ]] ||
    fail "credentials_issued_at_ms does not match the stored credential"
echo "ok: PostgreSQL holds the refreshed credential (its refresh token rotated)"

# Second expiry: wait until the refreshed access token is within the margin
# of its end, then post again: one more refresh, with the rotated token.
expires=$(jq .expires_at_ms <<<"$first")
due() { (($(date +%s%3N) >= expires - 1500)); }
while ! due; do sleep 0.5; done
insert_posts "$account" 50 "second wave"
svc_wait_terminal 270 120 || fail "the second wave did not finish"
check_exactly_once 270 || fail "second wave: not exactly once"
[[ $(refreshes) == 2 ]] || fail "after the second expiry the token endpoint saw $(refreshes) refreshes, expected 2"
[[ $(sandbox_get /_sandbox/stats | jq '.oauth.invalid_grant') == 0 ]] || fail "the rotated refresh token was not used"
second_stored() { (($(open_credential "$account" | jq .issued_at_ms) > $(jq .issued_at_ms <<<"$first"))); }
stack_wait_for second_stored >/dev/null || fail "the second refresh did not reach PostgreSQL"
[[ $(stack_psql -c "SELECT status FROM social_accounts WHERE id = '$account'") == active ]] || fail "account not active"
echo "ok: the second expiry refreshed again with the rotated token and was stored"

e2e_finish
pass "one refresh per account across 4 replicas, stored through the results path, rotated on the next expiry"
