#!/usr/bin/env bash
# Two live deliveries of one job must not post twice (publishers/engine/guard.h, the
# fence). Replica 1 sends the publish call, which the platform holds for 4 s,
# and then goes silent (SIGSTOP: what an engine blocked for AckWait looks
# like). JetStream hands the job to replica 2, which finds the attempt record
# at "started". Reading the platform back at once would find nothing yet and
# post a second time when replica 1's call lands; replica 2 must wait out the
# takeover window first, find replica 1's post, and report it.
source "$(dirname "$0")/lib.sh"

SVC_ACK_WAIT=1s # the silent replica's job comes back quickly
e2e_begin --latency-ms 0
# A double post must show up as a second post, not as a 506.
sandbox_post /_sandbox/config '{"reject_duplicates":false}' >/dev/null
dir=$STACK_DIR/fence
mkdir -p "$dir"
printf '{"platform":"facebook","external_id":"881001","token":"fence-token","name":"fence"}\n' \
    >"$dir/accounts.jsonl"
svc_ctl accounts import "$dir/accounts.jsonl" >"$dir/ids.txt" || fail "import account"
printf '{"account_id":"%s","at":"%s","text":"fenced post"}\n' "$(sed -n 1p "$dir/ids.txt")" \
    "$(rfc3339_in 2)" >"$dir/schedules.jsonl"
svc_ctl import "$dir/schedules.jsonl" >/dev/null || fail "import schedule"

sandbox_post /_sandbox/config '{"latency_ms":4000}' >/dev/null
svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook@1
# The publish call is at the platform: silence replica 1 now.
for ((i = 0; i < 1500; i++)); do
    [[ $(sandbox_stat in_flight) -ge 1 ]] && break
    sleep 0.02
done
[[ $(sandbox_stat in_flight) -ge 1 ]] || fail "replica 1 never called the platform"
kill -STOP "${SVC_PIDS[publisher-facebook@1]}"
sandbox_post /_sandbox/config '{"latency_ms":0}' >/dev/null
svc_start publisher-facebook@2

svc_wait_terminal 1 120 || { kill -CONT "${SVC_PIDS[publisher-facebook@1]}"; fail "the schedule did not finish"; }
kill -CONT "${SVC_PIDS[publisher-facebook@1]}"
# Replica 1's held call has landed (and been answered) before we count.
for ((i = 0; i < 750; i++)); do
    [[ $(sandbox_stat in_flight) -eq 0 ]] && break
    sleep 0.02
done
sleep 1 # replica 1 reports its answer too

report_load_sandbox
posts=$(stack_psql -c "SELECT count(*) FROM sandbox_posts WHERE message = 'fenced post'")
status=$(stack_psql -c "SELECT status FROM post_schedules")
echo "platform has $posts post(s); the row is $status"
[[ $posts -eq 1 ]] || fail "the post went out $posts times"
[[ $(log_count publisher-facebook@2 verify_found) -ge 1 ]] ||
    fail "replica 2 did not find replica 1's post by reading back"
[[ $status == published ]] || fail "the row is $status, not published"
e2e_finish
pass "a job taken over from a silent replica was posted once"
