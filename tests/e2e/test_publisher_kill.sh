#!/usr/bin/env bash
# A publisher is killed (SIGKILL) with ~64 calls in flight. Its jobs come back
# after AckWait; the attempt records say "started", so the new replica reads
# the page feed back before posting: nothing lost, nothing posted twice.
source "$(dirname "$0")/lib.sh"

SVC_ACK_WAIT=5s
e2e_begin --latency-ms 300
# Let a double post show up as a second accepted post instead of a 506.
sandbox_post /_sandbox/config '{"reject_duplicates":false}' >/dev/null
total=$(seed_scenario 50 10 2 "$(rfc3339_in 2)")   # 1,000 posts

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook
stack_wait_for bash -c "[[ \$(curl -fsS $SANDBOX_URL/_sandbox/stats | grep -o '\"accepted\":[0-9]*' | cut -d: -f2) -ge 200 ]]" \
    >/dev/null || fail "publishing did not start"
svc_kill publisher-facebook KILL || true
echo "killed the publisher after $(sandbox_stat accepted) accepted posts"

svc_start publisher-facebook
svc_wait_terminal "$total" 300 || fail "not all schedules finished after the restart"
check_exactly_once "$total" || fail "exactly-once check"
[[ $(sandbox_stat duplicate_accepts) -eq 0 ]] || fail "the sandbox accepted a post twice"
echo "read-backs that found an earlier attempt's post: $(log_count publisher-facebook verify_found)"
e2e_finish
pass "publisher SIGKILL mid-batch: redelivered, published once each"
