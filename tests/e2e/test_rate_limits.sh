#!/usr/bin/env bash
# Rate limits hold across every replica: two schedulers and four publishers
# share one per-account and one per-app limit. From the sandbox's own record
# of accepted posts, no sliding window of either scope ever holds more than
# its limit, every post still goes out exactly once, waiting for the limit
# burns no attempt, and while there is a backlog the pipeline keeps up with
# the allowed rate (at most one window behind it).
source "$(dirname "$0")/lib.sh"

ACCOUNTS=4 POSTS=30        # 120 posts, all due at once
ACCOUNT_LIMIT=8 APP_LIMIT=20 WINDOW_S=5

e2e_begin --latency-ms 20
svc_config "    account_limit: $ACCOUNT_LIMIT
    account_window: ${WINDOW_S}s
    app_limit: $APP_LIMIT
    app_window: ${WINDOW_S}s"
total=$(seed_scenario "$ACCOUNTS" "$POSTS" 1 "$(rfc3339_in 2)")

svc_start scheduler@a
svc_start scheduler@b
svc_start dispatcher
for r in 1 2 3 4; do svc_start "publisher-facebook@$r"; done
svc_wait_terminal "$total" 300 || fail "not all schedules finished"
check_exactly_once "$total" || fail "exactly-once check"

# The most posts any window of WINDOW_S seconds held, per page and in all.
window_ms=$((WINDOW_S * 1000))
worst_account=$(stack_psql -c "
  SELECT max(n) FROM (
    SELECT count(*) AS n FROM sandbox_posts a JOIN sandbox_posts b
        ON b.page_id = a.page_id
       AND b.accepted_at_ms >= a.accepted_at_ms AND b.accepted_at_ms < a.accepted_at_ms + $window_ms
     GROUP BY a.post_id) w")
worst_app=$(stack_psql -c "
  SELECT max(n) FROM (
    SELECT count(*) AS n FROM sandbox_posts a JOIN sandbox_posts b
        ON b.accepted_at_ms >= a.accepted_at_ms AND b.accepted_at_ms < a.accepted_at_ms + $window_ms
     GROUP BY a.post_id) w")
echo "busiest ${WINDOW_S}s window: $worst_account posts of one account (limit $ACCOUNT_LIMIT), $worst_app in all (limit $APP_LIMIT)"
[[ $worst_account -le $ACCOUNT_LIMIT ]] || fail "account limit broken: $worst_account in one window"
[[ $worst_app -le $APP_LIMIT ]] || fail "app limit broken: $worst_app in one window"

# Waiting for a slot is not an attempt: every post took exactly one.
attempts=$(stack_psql -c "SELECT max(attempts) FROM post_schedules")
[[ $attempts -eq 1 ]] || fail "a rate-limited post burned attempts (max $attempts)"

# Throughput with a backlog: at APP_LIMIT per window the last post can go out
# (total / APP_LIMIT - 1) windows after the first at best. Slots free up as
# each earlier post leaves the window, a few milliseconds apart, and the
# scheduler looks every tick, so a post can miss a boundary by a tick and
# wait one whole window more: allowed is one window (plus a second of
# scheduling) beyond the ideal. A limiter that stalls or admits at half the
# rate misses this by several windows.
span_ms=$(stack_psql -c "SELECT max(accepted_at_ms) - min(accepted_at_ms) FROM sandbox_posts")
ideal_ms=$(((total / APP_LIMIT - 1) * window_ms))
bound_ms=$((ideal_ms + window_ms + 1000))
pct=$((100 * ideal_ms / span_ms))
echo "first to last post: ${span_ms} ms; at the allowed rate: ${ideal_ms} ms (${pct}%); bound ${bound_ms} ms"
[[ $span_ms -le $bound_ms ]] || fail "throughput ${pct}% of the allowed rate: ${span_ms} ms > ${bound_ms} ms"

e2e_finish
pass "rate limits: per account and per app held across 2 schedulers and 4 publishers"
