#!/usr/bin/env bash
# A 3-node nats-server cluster with every stream and the attempt bucket at
# R3: one node is SIGKILLed mid-run and later restarted. Services connected
# to it move to the others, streams elect new leaders, and every schedule
# still ends published exactly once.
source "$(dirname "$0")/lib.sh"
source "$AUTOPOST_SRC/tests/fixtures/cluster.sh"

command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }
stack_trap
stack_start || fail "could not start the stack"
svc_sandbox_start --latency-ms 50 || fail "could not start the sandbox"
cluster_start 3 || fail "could not start a 3-node nats cluster"
export AUTOPOST_NATS_URL=$CLUSTER_URLS
SVC_ACK_WAIT=5s svc_config "" 
sed -i 's/^nats:$/nats:\n  stream_replicas: 3/' "$AUTOPOST_CONFIG"
sed -i 's/concurrency: 64/concurrency: 16/' "$AUTOPOST_CONFIG"  # keep the run long enough
svc_ctl migrate >/dev/null || fail "migrate failed"
svc_ctl streams apply >/dev/null || fail "streams apply failed on the cluster"

replicas=$(curl -fsS "http://127.0.0.1:${CLUSTER_MON[1]}/jsz?streams=true" |
    jq '[.account_details[].stream_detail[] | select(.name | startswith("AUTOPOST_")) | .cluster.replicas | length] | min')
[[ ${replicas:-0} -ge 2 ]] || fail "streams are not replicated (peers besides the leader: ${replicas:-none})"

total=$(seed_scenario 50 10 2 "$(rfc3339_in 2)")   # 1,000 posts
svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook@1
svc_start publisher-facebook@2
stack_wait_for bash -c "[[ \$(curl -fsS $SANDBOX_URL/_sandbox/stats | grep -o '\"accepted\":[0-9]*' | cut -d: -f2) -ge 200 ]]" \
    >/dev/null || fail "publishing did not start"

leader=$(cluster_meta_leader)
victim=${leader#autopost-n}
[[ $victim =~ ^[1-3]$ ]] || victim=1
echo "killing node $victim (the meta leader) at $(sandbox_stat accepted) accepted posts"
cluster_kill "$victim"
stack_wait_for bash -c "[[ \$(curl -fsS $SANDBOX_URL/_sandbox/stats | grep -o '\"accepted\":[0-9]*' | cut -d: -f2) -ge 600 ]]" \
    >/dev/null || fail "publishing did not continue with one node down"
echo "restarting node $victim at $(sandbox_stat accepted) accepted posts"
cluster_start_node "$victim"

svc_wait_terminal "$total" 300 || fail "not all schedules finished"
check_exactly_once "$total" || fail "exactly-once check"
e2e_finish
pass "3-node cluster, R3 streams, node killed mid-run: everything published exactly once"
