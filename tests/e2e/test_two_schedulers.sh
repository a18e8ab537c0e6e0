#!/usr/bin/env bash
# Two scheduler replicas claim the same due rows at once (small batches so
# they interleave): each schedule is published exactly once.
source "$(dirname "$0")/lib.sh"

e2e_begin --latency-ms 5
total=$(seed_scenario 100 10 2 "$(rfc3339_in 3)")   # 2,000 posts
sed -i 's/batch_size: 500/batch_size: 50/' "$AUTOPOST_CONFIG"

svc_start scheduler@a
svc_start scheduler@b
svc_start dispatcher
svc_start publisher-facebook
svc_wait_terminal "$total" 300 || fail "not all schedules finished"
check_exactly_once "$total" || fail "exactly-once check"

a=$(grep -o 'queued=[0-9]*' "$STACK_DIR/logs/scheduler@a.log" | cut -d= -f2 | awk '{s+=$1} END {print s+0}')
b=$(grep -o 'queued=[0-9]*' "$STACK_DIR/logs/scheduler@b.log" | cut -d= -f2 | awk '{s+=$1} END {print s+0}')
echo "scheduler a queued ${a:-0}, scheduler b queued ${b:-0}"
[[ $((${a:-0} + ${b:-0})) -eq $total ]] || fail "replicas queued $a + $b rows, expected $total in all"
e2e_finish
pass "two schedulers: every schedule published once"
