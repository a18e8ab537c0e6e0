#!/usr/bin/env bash
# Brokers and databases go away mid-run: PostgreSQL is stopped for a while
# and nats-server is killed (SIGKILL) and restarted on its file store. Every
# service reconnects and resumes; nothing is lost or posted twice.
source "$(dirname "$0")/lib.sh"

SVC_ACK_WAIT=5s
e2e_begin --latency-ms 50
sandbox_post /_sandbox/config '{"reject_duplicates":false}' >/dev/null
total=$(seed_scenario 50 10 2 "$(rfc3339_in 2)")   # 1,000 posts
sed -i 's/concurrency: 64/concurrency: 16/' "$AUTOPOST_CONFIG"  # keep the run long enough

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook
stack_wait_for bash -c "[[ \$(curl -fsS $SANDBOX_URL/_sandbox/stats | grep -o '\"accepted\":[0-9]*' | cut -d: -f2) -ge 100 ]]" \
    >/dev/null || fail "publishing did not start"

echo "stopping PostgreSQL for 8 s at $(sandbox_stat accepted) accepted posts"
stack_pg_stop
sleep 8
stack_pg_start || fail "PostgreSQL did not come back"

stack_wait_for bash -c "[[ \$(curl -fsS $SANDBOX_URL/_sandbox/stats | grep -o '\"accepted\":[0-9]*' | cut -d: -f2) -ge 400 ]]" \
    >/dev/null || fail "publishing did not continue after the database outage"
echo "killing nats-server at $(sandbox_stat accepted) accepted posts"
stack_nats_kill
sleep 3
stack_nats_start || fail "nats-server did not come back"

svc_wait_terminal "$total" 300 || fail "not all schedules finished after the outages"
check_exactly_once "$total" || fail "exactly-once check"
for svc in scheduler dispatcher publisher-facebook; do
    kill -0 "${SVC_PIDS[$svc]}" 2>/dev/null || fail "$svc exited during the outages"
done
e2e_finish
pass "database and broker outages: everything published exactly once"
