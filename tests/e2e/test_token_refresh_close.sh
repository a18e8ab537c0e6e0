#!/usr/bin/env bash
# X's refresh tokens rotate and work once. Here the token endpoint spends the
# refresh token, issues the new pair, then closes the connection without an
# answer (close_rate). On a kept-alive connection libcurl would send the same
# refresh again at once: the old token is spent, so the platform answers
# invalid_grant and the account is lost for a reason of our own making. The
# refresh is a `once` request (publishers/platforms/http.h): the resend is refused, the
# refresh is unconfirmed, and no replica sends the token again before the
# cool-down of test_token_refresh_ambiguous.sh (4 x the call timeout).
#
# As there, facebook's token_url points at the sandbox's X token endpoint.
source "$(dirname "$0")/lib.sh"

SVC_TIMEOUT=3s e2e_begin --latency-ms 5
sed -i "/^  facebook:\$/a\\    token_url: $SANDBOX_URL/x/2/oauth2/token\\n    client_id: autopost-e2e" "$AUTOPOST_CONFIG"
plain=$(svc_ctl accounts add --platform facebook --external-id 6001 --token plain-token) || fail "accounts add"
expired=$(svc_ctl accounts add --platform facebook --external-id 6002 --token expired-at-start \
    --refresh-token rt-close6002 --expires-in 0) || fail "accounts add with a refresh token"
insert_posts() { # ACCOUNT N PREFIX
    stack_psql -v account="$1" -v n="$2" -v prefix="$3" <<'SQL' >/dev/null
WITH p AS (INSERT INTO posts (text) SELECT :'prefix' || ' ' || g FROM generate_series(1, :n) g RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at) SELECT p.id, (:'account')::uuid, now() FROM p;
SQL
}

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook
# Warm the publisher's connections to the sandbox: the refresh must ride a
# reused one, which is where libcurl resends.
insert_posts "$plain" 10 "warm-up post"
svc_wait_terminal 10 60 || fail "the warm-up posts did not finish"

sandbox_post /_sandbox/config '{"close_rate": 1}' >/dev/null
insert_posts "$expired" 5 "after a refresh closed unanswered"
closed() { (($(sandbox_stat closes) >= 1)); }
stack_wait_for closed >/dev/null || fail "the refresh was never closed unanswered"
sandbox_post /_sandbox/config '{"close_rate": 0}' >/dev/null
t_closed=$(date +%s)

# Well inside the cool-down (12 s): the spent token has been sent once.
sleep 4
stats=$(sandbox_get /_sandbox/stats)
echo "  oauth after the close: $(jq -c .oauth <<<"$stats")"
[[ $(jq '.oauth.refreshes["rt-close6002"] // 0' <<<"$stats") == 1 ]] || fail "refreshes: $(jq -c .oauth <<<"$stats")"
[[ $(jq '.oauth.invalid_grant' <<<"$stats") == 0 ]] ||
    fail "the spent refresh token was sent again at once (libcurl's resend)"
[[ $(log_count publisher-facebook token_refresh_unconfirmed) == 1 ]] ||
    fail "the closed refresh was not logged as unconfirmed"
grep -q 'resend was refused' "$STACK_DIR/logs/publisher-facebook.log" ||
    fail "the publisher did not refuse libcurl's resend (was the connection reused?)"

# The new pair was lost with the answer; after the cool-down one replica
# tries once more and the platform, having rotated, refuses: the account
# needs reconnecting. Nothing is posted with a token we do not hold.
svc_wait_terminal 15 90 || fail "the posts did not finish"
invalid=$(sandbox_get /_sandbox/stats | jq '.oauth.invalid_grant')
((invalid <= 1)) || fail "$invalid invalid_grant answers: the spent token was sent more than once after the cool-down"
if ((invalid == 1)); then
    (($(date +%s) - t_closed >= 11)) || fail "the token was tried again before the cool-down ended"
fi
posted=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE account_id = '$expired' AND status = 'published'")
echo "  account with the lost refresh: $posted of 5 published, invalid_grant $invalid"
e2e_finish
pass "a refresh closed after commit is sent once, never resent below the adapter"
