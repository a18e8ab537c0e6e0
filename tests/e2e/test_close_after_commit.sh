#!/usr/bin/env bash
# The platform stores a post, then closes the connection without a byte of
# answer (a crash after commit, a proxy's or load balancer's idle-timeout
# race, a deploy). On a kept-alive connection libcurl takes that for a stale
# connection and silently sends the same request again on a fresh one: a
# second post. Publishing calls are `once` requests (publishers/platforms/http.h): the
# engine refuses that resend, the attempt is ambiguous, and the read-back
# finds the post the platform committed.
#
# All five platforms, small latency so connections are reused, 10% of
# publishing calls committed-then-closed, duplicates accepted by the sandbox
# (so a resend shows up as a second post, not as a refusal). Every post must
# be on the platform exactly once and every row published.
source "$(dirname "$0")/lib.sh"

SEED_PLATFORMS="facebook instagram threads x linkedin"
SVC_PLATFORMS=$SEED_PLATFORMS
SVC_TIMEOUT=3s SVC_MAX_ATTEMPTS=10 SVC_CONCURRENCY=16
e2e_begin --latency-ms 5 --close-rate 0.10
sandbox_post /_sandbox/config '{"reject_duplicates":false}' >/dev/null
total=$(seed_scenario 50 2 5 "$(rfc3339_in 2)") || fail "seeding failed" # 500 posts, 100 per platform
[[ $total -eq 500 ]] || fail "seeded $total posts, expected 500"

svc_start scheduler
svc_start dispatcher
for platform in $SEED_PLATFORMS; do svc_start "publisher-$platform"; done
svc_wait_terminal "$total" 300 || fail "not all schedules finished"

closes=$(sandbox_stat closes)
echo "  sandbox: $closes publishing calls committed, then closed unanswered"
((closes >= 10)) || fail "only $closes close-after-commit faults: the test did not exercise the case"
check_exactly_once "$total" || fail "exactly-once check"
refused=0
for platform in $SEED_PLATFORMS; do
    refused=$((refused + $(grep -c 'resend was refused' "$STACK_DIR/logs/publisher-$platform.log" || true)))
done
echo "  publishers: $refused resends of a publishing call refused"
((refused >= 1)) || fail "no resend was refused: the connections were not reused"
e2e_finish
pass "commit-then-close on kept-alive connections: $total posts once each, every row published"
