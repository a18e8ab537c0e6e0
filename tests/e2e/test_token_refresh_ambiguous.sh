#!/usr/bin/env bash
# A token refresh that gets no answer may have spent the single-use refresh
# token (publishers/engine/refresh.h). It must not be retried blindly: the lock in
# KV autopost_accounts turns "ambiguous", no replica sends the token again
# before the cool-down (4 x the call timeout), and then exactly one replica
# tries once more. Here the sandbox holds the first refresh without acting
# on it (hang_rate), so the second try succeeds: one refresh counted, one
# request held, no invalid_grant, every post published once.
#
# As in test_token_refresh.sh, facebook's token_url points at the sandbox's X
# token endpoint (Facebook page tokens have no refresh tokens).
source "$(dirname "$0")/lib.sh"

SVC_TIMEOUT=1s e2e_begin
sed -i "/^  facebook:\$/a\\    token_url: $SANDBOX_URL/x/2/oauth2/token\\n    client_id: autopost-e2e" "$AUTOPOST_CONFIG"
account=$(svc_ctl accounts add --platform facebook --external-id 5001 --token expired-at-start \
    --refresh-token rt-amb5001 --expires-in 0) || fail "accounts add"
stack_psql -v account="$account" <<'SQL' >/dev/null
WITH p AS (INSERT INTO posts (text) SELECT 'after an unanswered refresh ' || g FROM generate_series(1, 20) g RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at) SELECT p.id, (:'account')::uuid, now() FROM p;
SQL

sandbox_post /_sandbox/config '{"hang_rate": 1}' >/dev/null
svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook@1
svc_start publisher-facebook@2
held() { (($(sandbox_stat hangs) >= 1)); }
stack_wait_for held >/dev/null || fail "the refresh was not held"
sandbox_post /_sandbox/config '{"hang_rate": 0}' >/dev/null

svc_wait_terminal 20 90 || fail "the posts did not finish"
check_exactly_once 20 || fail "not exactly once"
stats=$(sandbox_get /_sandbox/stats)
[[ $(jq '.hangs' <<<"$stats") == 1 ]] || fail "the sandbox held $(jq .hangs <<<"$stats") requests; one refresh may hang"
[[ $(jq '.oauth.refreshes["rt-amb5001"] // 0' <<<"$stats") == 1 ]] || fail "refreshes: $(jq -c .oauth <<<"$stats")"
[[ $(jq '.oauth.invalid_grant' <<<"$stats") == 0 ]] || fail "a refresh token was spent twice"
unconfirmed=$(($(log_count publisher-facebook@1 token_refresh_unconfirmed) + $(log_count publisher-facebook@2 token_refresh_unconfirmed)))
[[ $unconfirmed == 1 ]] || fail "$unconfirmed refreshes logged as unconfirmed, expected 1"
echo "ok: one unanswered refresh, one retry after the cool-down, 20 posts published once"

e2e_finish
pass "an ambiguous refresh is retried once after its cool-down, never blindly"
