#!/usr/bin/env bash
# Instagram stories (issue 20, README "Formats"), through autopost-api over
# HTTP and the real scheduler, publisher, dispatcher and sandbox:
#   1. an image story and a video story posted with "format": "story" are
#      published once each: the sandbox holds one STORIES post per schedule
#      (kind "story"), with no caption; the video's container was processed
#      first (container_ready_ms) and polled until FINISHED; a video that
#      fails processing (ERROR) ends failed without a post;
#   2. a story to an X account is a 422 whose detail names "format"
#      ("format story is not supported on x"); a story with text is a 422
#      naming "format" too; nothing is stored for either;
#   3. `autopostctl schedule --format story` publishes a story, and
#      `--format story` on X is refused with the same reason.
source "$(dirname "$0")/lib.sh"
source "$AUTOPOST_SRC/tests/fixtures/api_test.sh"
source "$(dirname "$0")/adapter_checks.sh"

export SVC_PLATFORMS="instagram x"
e2e_begin --container-ready-ms 1500
api_test_config
P=instagram

q() { stack_psql -c "$1"; }
story() { # story ACCOUNT URL TYPE [EXTRA JSON MEMBERS]: a POST /v1/posts body
    printf '{"account_ids": ["%s"], "format": "story", "media": [{"url": "%s", "type": "%s"}]%s}' \
        "$1" "$2" "$3" "${4:-}"
}
# stories PAGE -> the sandbox's posts of that account as "kind caption url" lines
stories() {
    sandbox_get "/_sandbox/posts?platform=$P&page_id=$1" |
        jq -r '.posts[] | "\(.kind) \(.message // "-") \(.photo_url // .url // "?")"' | sort
}

api_test_tenant acme
IG=$(svc_ctl accounts add --platform $P --external-id 17841000000000101 --token good-ig-token)
IG2=$(svc_ctl accounts add --platform $P --external-id 17841000000000102 --token good-ig-token-2)
XA=$(svc_ctl accounts add --platform x --external-id 4401 --token good-x-token)
q "UPDATE social_accounts SET tenant_id = '$TENANT'" >/dev/null

# The API as deployed (tests/fixtures/api_test.sh).
api_test_start
svc_start scheduler
svc_start dispatcher
svc_start publisher-instagram

# ---- 2. refusals first: nothing may be stored for them -----------------------
before=$(q "SELECT count(*) FROM posts")
expect 422 POST /v1/posts "$(story "$XA" https://cdn.example/x.jpg image)"
[[ $(j '.error.details[0].field') == format ]] || fail "story to X: 422 names $(j '.error.details[0].field'): $(cat "$OUT")"
[[ $(j '.error.details[0].reason') == *"format story is not supported on x"* ]] ||
    fail "story to X: reason $(j '.error.details[0].reason')"
expect 422 POST /v1/posts "$(story "$IG" https://cdn.example/t.jpg image ', "text": "hello"')"
[[ $(j '.error.details[0].field') == format && $(j '.error.details[0].reason') == *"no text"* ]] ||
    fail "story with text: $(cat "$OUT")"
expect 422 POST /v1/posts "$(story "$IG" https://cdn.example/t.jpg image ', "format": "fleet"' | sed 's/"format": "story", //')"
[[ $(j '.error.details[0].field') == format ]] || fail "unknown format: $(cat "$OUT")"
[[ $(q "SELECT count(*) FROM posts") == "$before" ]] || fail "a refused story was stored"
if out=$(svc_ctl schedule --account "$XA" --at now --format story --media https://cdn.example/x.jpg 2>&1); then
    fail "autopostctl schedule --format story to X was accepted: $out"
fi
[[ $out == *"format story is not supported on x"* ]] || fail "autopostctl's refusal: $out"

# ---- 1. an image story and a video story through the API --------------------
expect 201 POST /v1/posts "$(story "$IG" https://cdn.example/story.jpg image)"
[[ $(j .format) == story ]] || fail "201 shows format $(j .format)"
IMG_POST=$(j .id)
IMG=$(j '.schedules[0].id')
expect 201 POST /v1/posts "$(story "$IG" https://cdn.example/story.mp4 video)"
VID=$(j '.schedules[0].id')
expect 200 GET "/v1/posts/$IMG_POST"
[[ $(j .format) == story && $(j '.media[0] | has("format")') == false && $(j '.media[0].url') == https://cdn.example/story.jpg ]] ||
    fail "GET /v1/posts/{id}: $(cat "$OUT")"
for id in "$IMG" "$VID"; do
    ac_wait "$id" 90 published failed unconfirmed || fail "story $id did not finish"
    ac_expect "$id" published "" ""
done
got=$(stories 17841000000000101)
want=$'story - https://cdn.example/story.jpg\nstory - https://cdn.example/story.mp4'
[[ $got == "$want" ]] || fail "sandbox posts of the stories account: $got"
for id in "$IMG" "$VID"; do
    ext=$(q "SELECT external_post_id FROM post_schedules WHERE id = '$id'")
    sandbox_get "/_sandbox/posts?platform=$P" | jq -e --arg id "$ext" \
        '[.posts[] | select(.id == $id and .kind == "story" and .message == null)] | length == 1' \
        >/dev/null || fail "published id $ext is not one caption-less story in the sandbox"
done
# A story video Instagram cannot process ends failed (permanent), never posted.
expect 201 POST /v1/posts "$(story "$IG2" https://cdn.example/error-story.mp4 video)"
BAD=$(j '.schedules[0].id')
ac_wait "$BAD" 90 published failed unconfirmed || fail "the broken story did not finish"
ac_expect "$BAD" failed permanent "could not process the media"
[[ $(ac_posts $P 17841000000000102) -eq 0 ]] || fail "the broken story left a post"

# ---- 3. autopostctl schedule --format story ------------------------------------
CTL=$(svc_ctl schedule --account "$IG2" --at now --format story --media https://cdn.example/ctl.mp4 --media-type video)
ac_wait "$CTL" 90 published failed unconfirmed || fail "autopostctl's story did not finish"
ac_expect "$CTL" published "" ""
[[ $(stories 17841000000000102) == "story - https://cdn.example/ctl.mp4" ]] ||
    fail "autopostctl's story in the sandbox: $(stories 17841000000000102)"

e2e_finish
pass "instagram stories: image and video published once without caption; story on X refused naming format"
