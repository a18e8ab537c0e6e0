#!/usr/bin/env bash
# The seed scenario end to end: 500 users x 3 posts x 2 pages = 3,000 posts
# due in the same second. Every row must end published and the sandbox must
# have exactly one post per schedule.
source "$(dirname "$0")/lib.sh"

e2e_begin --latency-ms 20
at=$(rfc3339_in 4)
total=$(seed_scenario 500 3 2 "$at")
[[ $total -eq 3000 ]] || fail "seeded $total schedules, expected 3000"

svc_start dispatcher
svc_start publisher-facebook
svc_start scheduler
SVC_QUIET=1 svc_wait_terminal 3000 300 || fail "not every schedule reached a final state"

check_exactly_once 3000 || fail "exactly-once check"
run_report
[[ $(sandbox_stat duplicate_accepts) -eq 0 ]] || fail "sandbox accepted duplicates"
# The publisher's calls in flight never pass platforms.facebook.concurrency.
peak=$(sandbox_stat max_in_flight)
echo "sandbox saw at most $peak calls at once (concurrency ${SVC_CONCURRENCY:-64})"
[[ $peak -le ${SVC_CONCURRENCY:-64} ]] || fail "$peak calls in flight, concurrency is ${SVC_CONCURRENCY:-64}"
attempts=$(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE event = 'published'")
[[ $attempts -eq 3000 ]] || fail "history has $attempts published events, expected 3000"
e2e_finish
pass "3,000 posts published exactly once"
