#!/usr/bin/env bash
# The publisher reads its KV buckets with asynchronous direct gets
# (publishers/engine/jsasync.h), which a stream without allow_direct never
# answers: every redelivered job would time out reading its attempt record
# and be handed back forever. So a publisher whose bucket lacks it refuses to
# start and says why, instead of running without ever finishing such a job.
source "$(dirname "$0")/lib.sh"

e2e_begin
stream=KV_autopost_attempts_facebook
info=$(nats_req "\$JS.API.STREAM.INFO.$stream" '')
config=$(jq -c '.config | .allow_direct = false' <<<"$info") || fail "stream info: $info"
reply=$(nats_req "\$JS.API.STREAM.UPDATE.$stream" "$config")
jq -e '.config.allow_direct == false' <<<"$reply" >/dev/null ||
    fail "could not turn allow_direct off: $reply"

svc_start publisher-facebook
pid=${SVC_PIDS[publisher-facebook]}
for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
rc=0
kill -0 "$pid" 2>/dev/null && { svc_kill publisher-facebook TERM || true; fail "the publisher started anyway"; }
wait "$pid" 2>/dev/null || rc=$?
unset "SVC_PIDS[publisher-facebook]"
[[ $rc -ne 0 ]] || fail "the publisher exited 0"
grep -q "$stream does not allow direct gets" "$STACK_DIR/logs/publisher-facebook.log" ||
    fail "the publisher did not say why it stopped"
echo "ok: the publisher refused to start (exit $rc) and named the stream"
e2e_finish
pass "a bucket without direct gets is refused at start"
