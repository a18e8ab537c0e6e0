#!/usr/bin/env bash
# NATS stops answering (SIGSTOP for 10 s, the TCP connection stays up: what a
# stalled or partitioned server looks like) while a publisher has jobs whose
# platform calls are in flight. The engine thread waits on no JetStream
# request (publishers/engine/jsasync.h): the calls are answered during the
# pause, their outcomes wait as unanswered asynchronous writes, and once
# NATS is back every job settles with the delivery it has (no redelivery, no
# read-back), each post exactly once. One more job's account has a revoked
# token: its REAUTH answer also comes during the pause, and its reauth mark
# must be stored once NATS is back (a synchronous write would have timed out
# after 5 s, mid-pause, and the mark would be lost for the other replicas).
# The publisher's longest engine-loop turn
# (autopost_publisher_loop_max_seconds) is printed, not asserted.
source "$(dirname "$0")/lib.sh"

SVC_ACK_WAIT=60s # the pause and the calls fit in one delivery's AckWait
e2e_begin --latency-ms 0
total=$(seed_scenario 3 4 1 "$(rfc3339_in 2)") # 12 posts
revoked=$(svc_ctl accounts add --platform facebook --external-id 2901 --token revoked-in-pause) ||
    fail "add the revoked account"
stack_psql -v account="$revoked" >/dev/null <<'SQL' || fail "schedule the revoked account's post"
WITH p AS (INSERT INTO posts (text) VALUES ('revoked during the pause') RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT p.id, (:'account')::uuid, now() + interval '2 s' FROM p;
SQL
calls=$((total + 1))

METRICS_PORT=$(stack_free_port) || fail "no free port"
{
    cat "$AUTOPOST_CONFIG"
    printf 'service:\n  http_bind: 127.0.0.1\n  http_port: %s\n' "$METRICS_PORT"
} >"$STACK_DIR/publisher.yaml"
loop_max() {
    curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk '$1 ~ /^autopost_publisher_loop_max_seconds/ { print $2; found = 1 } END { exit !found }'
}

# Every call is held at the platform for 4 s: long enough to be in flight
# when NATS stops, short enough to be answered before it comes back.
sandbox_post /_sandbox/config '{"latency_ms":4000}' >/dev/null
svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook --config "$STACK_DIR/publisher.yaml"
for ((i = 0; i < 1500; i++)); do
    [[ $(sandbox_stat in_flight) -ge $calls ]] && break
    sleep 0.02
done
[[ $(sandbox_stat in_flight) -ge $calls ]] ||
    fail "only $(sandbox_stat in_flight) of $calls calls in flight"

echo "pausing nats-server for 10 s with $(sandbox_stat in_flight) calls in flight"
kill -STOP "$STACK_NATS_PID"
sleep 10
answered=$(sandbox_stat accepted)
kill -CONT "$STACK_NATS_PID"
echo "nats-server resumed; the platform answered $answered posts meanwhile"
[[ $answered -ge $total ]] || fail "the platform answered only $answered of $total during the pause"

svc_wait_terminal "$calls" 120 || fail "not every job settled once NATS was back"
check_exactly_once "$total" || fail "exactly-once check"
log=$STACK_DIR/logs/publisher-facebook.log
# Settled by the delivery that made the call: no job waited for a redelivery.
[[ $(log_count publisher-facebook job_published) -eq $total ]] ||
    fail "$(log_count publisher-facebook job_published) of $total jobs settled as published"
[[ $(log_count publisher-facebook verify_start) -eq 0 ]] ||
    fail "a job was redelivered and read back instead of settling after the pause"
[[ $(grep -c result_publish_failed "$log" || true) -eq 0 ]] ||
    fail "a result could not be stored after the pause"
[[ $(grep -c reauth_mark_failed "$log" || true) -eq 0 ]] ||
    fail "the reauth mark answered during the pause was not stored"
[[ $(log_count publisher-facebook account_reauth) -eq 1 ]] || fail "no reauth mark was made"
status=$(stack_psql -c "SELECT status FROM social_accounts WHERE id = '$revoked'")
[[ $status == reauth_required ]] || fail "the revoked account is $status"
echo "publisher engine loop: longest turn $(loop_max || echo '?') s (autopost_publisher_loop_max_seconds)"
e2e_finish
pass "jobs in flight across a 10 s NATS pause settled exactly once when it came back"
