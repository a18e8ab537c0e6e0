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
# A well-formed job for a platform nobody serves, on the facebook subject.
{ pb_str 1 "0f8fad5b-d9cb-469f-a165-70867728950e"; pb_int 2 1
  pb_str 4 "7c9e6679-7425-40de-944b-e07fc1f90ae7"; pb_str 5 myspace; pb_str 6 "hello"; } \
    >"$STACK_DIR/unknown.bin"
nats_pub autopost.jobs.facebook "$STACK_DIR/unknown.bin"
nats_pub autopost.results.facebook "$garbage"
# Garbage in the accounts bucket every publisher watches (reauth marks,
# pauses, shared credentials): ignored and reported, never fatal.
nats_pub '$KV.autopost_accounts_facebook.reauth.7c9e6679-7425-40de-944b-e07fc1f90ae7' "$garbage"
nats_pub '$KV.autopost_accounts_facebook.pause.7c9e6679-7425-40de-944b-e07fc1f90ae7' "$garbage"
nats_pub '$KV.autopost_accounts_facebook.cred.7c9e6679-7425-40de-944b-e07fc1f90ae7' "$garbage"
printf '{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream_seq":"x"}' >"$STACK_DIR/adv.json"
nats_pub '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.AUTOPOST_JOBS.publisher-facebook' "$STACK_DIR/adv.json"

stack_wait_for bash -c "[[ \$(grep -c '\"event\":\"poison_message\"' '$STACK_DIR/logs/publisher-facebook.log') -ge 2 ]]" \
    >/dev/null || fail "publisher did not report both poison jobs"
# The unknown platform decodes fine: it ends as a failed job with the reason
# (a real schedule routed wrongly would say why in its row), no call made.
stack_wait_for grep -q 'job for platform \\"myspace\\"' "$STACK_DIR/logs/publisher-facebook.log" \
    >/dev/null || fail "publisher did not refuse the job for an unknown platform"
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
