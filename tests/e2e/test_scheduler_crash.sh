#!/usr/bin/env bash
# The scheduler dies (SIGKILL) after every job of its batch is in JetStream
# but before its COMMIT: the rows stay pending, the restarted scheduler
# publishes them again, JetStream drops the copies (same Nats-Msg-Id) and the
# platform sees each post once.
source "$(dirname "$0")/lib.sh"

# A release build (AUTOPOST_FAILPOINTS off) has no failpoint to crash at.
if ! grep -aq AUTOPOST_FAILPOINT "$AUTOPOST_BIN/autopost-scheduler"; then
    echo "skipped: failpoints are compiled out of this build (cmake -DAUTOPOST_FAILPOINTS=ON)"
    exit 77
fi

e2e_begin
total=$(seed_scenario 20 5 2 "$(rfc3339_in 0)")   # 200 posts due now

AUTOPOST_FAILPOINT=scheduler_before_commit svc_start scheduler
rc=0
wait "${SVC_PIDS[scheduler]}" || rc=$?
unset "SVC_PIDS[scheduler]"
[[ $rc -eq 137 ]] || fail "scheduler should have been killed by its failpoint (exit $rc)"
pending=$(svc_count_status pending)
[[ $pending -eq $total ]] || fail "$pending of $total rows pending after the crash"
stored=$(jsz_stream_messages AUTOPOST_JOBS)
[[ $stored -eq $total ]] || fail "AUTOPOST_JOBS holds $stored jobs, expected $total"

svc_start scheduler
# The crashed run logged no tick (it dies before its COMMIT and the log line).
stack_wait_for grep -q '"event":"tick"' "$STACK_DIR/logs/scheduler.log" \
    >/dev/null || fail "restarted scheduler did not tick"
stored=$(jsz_stream_messages AUTOPOST_JOBS)
[[ $stored -eq $total ]] || fail "after the republish AUTOPOST_JOBS holds $stored jobs (dedup failed)"
grep -q "duplicates=$total" "$STACK_DIR/logs/scheduler.log" ||
    fail "the republished batch was not reported as $total duplicates"

svc_start dispatcher
svc_start publisher-facebook
svc_wait_terminal "$total" 120 || fail "not all schedules finished"
check_exactly_once "$total" || fail "exactly-once check"
e2e_finish
pass "scheduler crash between publish and commit: no duplicate"
