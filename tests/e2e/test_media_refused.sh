#!/usr/bin/env bash
# A post's media URL that points at the publisher's own machine is never
# fetched when publisher.media_allow_private is off (production's default):
# the post fails as media_url_refused, permanent, with nothing about the host
# in its reason, and the listener behind the URL sees no connection at all.
#   https://127.0.0.1:P/...        -> refused by address (checked at connect)
#   https://localhost:P/...        -> the same after DNS
#   http://127.0.0.1:P/...         -> refused by scheme (https only)
#   https://127.0.0.1:P/d.mp4      -> a video (X's chunked upload reads it in
#                                     ranges): refused by address the same way
#   https://127.0.0.1:P/e.mp4      -> a LinkedIn video (the Videos API upload
#                                     reads it in ranges too): refused the same
#                                     way, before LinkedIn hears of it
# The same URLs are fetched with the flag on (test_adapter_x, every e2e
# stack: tests/fixtures/services.sh sets it for the sandbox's media).
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="x linkedin"
SVC_MEDIA_ALLOW_PRIVATE=false
e2e_begin

tool=$AUTOPOST_BIN/../tests/count_connections
[[ -x $tool ]] || fail "missing $tool (build the tests)"
"$tool" "$STACK_DIR/listener.port" "$STACK_DIR/listener.count" >>"$STACK_DIR/logs/listener.log" 2>&1 &
stack_register_pid $!
for _ in $(seq 50); do [[ -s $STACK_DIR/listener.port ]] && break; sleep 0.1; done
port=$(cat "$STACK_DIR/listener.port") || fail "the connection counter did not start"
connections() { cat "$STACK_DIR/listener.count"; }
# The witness works: a connection of ours is counted.
(exec 3<>"/dev/tcp/127.0.0.1/$port") || fail "cannot connect to the counter"
stack_wait_for bash -c "[[ \$(cat '$STACK_DIR/listener.count') -eq 1 ]]" >/dev/null ||
    fail "the counter did not count a connection"

token=x-good-token
user=$(curl -fsS -H "Authorization: Bearer $token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
account=$(svc_ctl accounts add --platform x --external-id "$user" --token "$token")
li_account=$(svc_ctl accounts add --platform linkedin --external-id urn:li:person:sandbox1 --token li-good-token)

svc_start scheduler
svc_start dispatcher
svc_start publisher-x
svc_start publisher-linkedin

by_address=$(svc_ctl schedule --account "$account" --at now --text "loopback by address" \
    --media "https://127.0.0.1:$port/a.png")
by_name=$(svc_ctl schedule --account "$account" --at now --text "loopback by name" \
    --media "https://localhost:$port/b.png")
by_scheme=$(svc_ctl schedule --account "$account" --at now --text "loopback over http" \
    --media "http://127.0.0.1:$port/c.png")
video=$(svc_ctl schedule --account "$account" --at now --text "a video on loopback" \
    --media "https://127.0.0.1:$port/d.mp4" --media-type video)
li_video=$(svc_ctl schedule --account "$li_account" --at now --text "a LinkedIn video on loopback" \
    --media "https://127.0.0.1:$port/e.mp4" --media-type video)

row() { stack_psql -F '|' -c "SELECT status, coalesce(error_class, ''), coalesce(error_code, ''), coalesce(error_message, '') FROM post_schedules WHERE id = '$1'"; }
final() { [[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$1'") == failed ]]; }
# expect ID REASON
expect() {
    stack_wait_for final "$1" >/dev/null || fail "schedule $1 did not fail: $(row "$1")"
    local r
    r=$(row "$1")
    [[ $r == "failed|permanent|media_url_refused|media 1: $2" ]] ||
        fail "schedule $1: got '$r', expected failed, permanent, media_url_refused, 'media 1: $2'"
    echo "ok: $r"
}
expect "$by_address" "address not allowed"
expect "$by_name" "address not allowed"
expect "$by_scheme" "only https URLs are allowed"
expect "$video" "address not allowed"
expect "$li_video" "address not allowed"

[[ $(connections) -eq 1 ]] || fail "the publisher connected to the media URL's host $(($(connections) - 1)) times"
[[ $(sandbox_get "/_sandbox/posts?platform=x" | jq '.posts | length') -eq 0 ]] ||
    fail "a post whose media was refused reached X"
[[ $(sandbox_get "/_sandbox/linkedin/videos" | jq '.videos | length') -eq 0 &&
    $(sandbox_get "/_sandbox/posts?platform=linkedin" | jq '.posts | length') -eq 0 ]] ||
    fail "a LinkedIn video whose media was refused reached LinkedIn"
[[ $(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE error_message LIKE '%$port%'") -eq 0 ]] ||
    fail "an attempt's message names the refused host"

e2e_finish
pass "media on loopback: refused before any connection, with a reason that tells nothing about the host"
