#!/usr/bin/env bash
# Garbage on the subjects the services read is terminated and reported, and
# the services keep serving real work.
source "$(dirname "$0")/lib.sh"

e2e_begin
svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook

garbage=$STACK_DIR/garbage.bin
head -c 300 /dev/urandom >"$garbage"
nats_pub autopost.jobs.facebook "$garbage"
# Valid protobuf wire format, wrong content: field 1 = "not-a-uuid".
printf '\x0a\x0anot-a-uuid' >"$STACK_DIR/wrong.bin"
nats_pub autopost.jobs.facebook "$STACK_DIR/wrong.bin"
nats_pub autopost.results.facebook "$garbage"
printf '{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream_seq":"x"}' >"$STACK_DIR/adv.json"
nats_pub '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.AUTOPOST_JOBS.publisher-facebook' "$STACK_DIR/adv.json"

stack_wait_for bash -c "[[ \$(grep -c '\"event\":\"poison_message\"' '$STACK_DIR/logs/publisher-facebook.log') -ge 2 ]]" \
    >/dev/null || fail "publisher did not report both poison jobs"
stack_wait_for bash -c "grep -qi 'garbage\|poison\|invalid' '$STACK_DIR/logs/dispatcher.log'" \
    >/dev/null || fail "dispatcher did not report the garbage result"

# The services still work.
account=$(svc_ctl accounts add --platform facebook --external-id 4242 --token poison-test-token)
id=$(svc_ctl schedule --account "$account" --at now --text "still serving after garbage")
svc_wait_terminal 1 60 || fail "a real post did not go through after the garbage"
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$id'") == published ]] ||
    fail "the real post was not published"
stack_wait_for bash -c "[[ \$(curl -fsS 'http://127.0.0.1:$NATS_MONITOR_PORT/jsz?streams=true' | tr '{' '\n' | grep -A3 '\"name\":\"AUTOPOST_JOBS\"' | grep -o '\"messages\":[0-9]*' | cut -d: -f2) -eq 0 ]]" \
    >/dev/null || fail "terminated garbage is still in AUTOPOST_JOBS"
for svc in scheduler dispatcher publisher-facebook; do
    kill -0 "${SVC_PIDS[$svc]}" 2>/dev/null || fail "$svc died"
done
e2e_finish
pass "garbage terminated and reported; services kept serving"
