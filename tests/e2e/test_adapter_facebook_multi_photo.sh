#!/usr/bin/env bash
# Facebook multi-photo posts end to end: unpublished photos, then one feed
# post with attached_media; a lost answer to that feed call is read back and
# the post exists once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapter_checks.sh"

export SVC_TIMEOUT=3s SVC_MAX_ATTEMPTS=8 SVC_BACKOFF_MAX=1s
e2e_begin
P=facebook
page=$(svc_ctl accounts add --platform $P --external-id 3001 --token good-fb-token)
lost_page=$(svc_ctl accounts add --platform $P --external-id 3002 --token good-fb-token-2)
svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook

album=$(ac_schedule "$page" "three photos" --link https://example.com/album \
    --media https://cdn.example/1.jpg --media https://cdn.example/2.jpg \
    --media https://cdn.example/3.jpg)
ac_wait "$album" 60 published failed unconfirmed || fail "the multi-photo post did not finish"
ac_expect "$album" published "" ""
posts=$(sandbox_get "/_sandbox/posts?platform=$P&page_id=3001")
external=$(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$album'")
jq -e --arg id "$external" '[.posts[] | select(.published)] | length == 1 and
    .[0].id == $id and .[0].kind == "multi_photo" and
    .[0].message == "three photos\nhttps://example.com/album"' <<<"$posts" >/dev/null ||
    fail "expected one multi_photo post $external: $posts"
jq -e '[.posts[] | select(.published | not) | .photo_url] ==
    ["https://cdn.example/1.jpg","https://cdn.example/2.jpg","https://cdn.example/3.jpg"]' \
    <<<"$posts" >/dev/null || fail "expected three unpublished photos in order: $posts"

# The feed call is accepted and never answered: read back, published once.
ac_knobs '{"hang_rate":1}'
lost=$(ac_schedule "$lost_page" "two photos, answer lost" \
    --media https://cdn.example/4.jpg --media https://cdn.example/5.jpg)
ac_wait "$lost" 90 published failed unconfirmed || fail "the hung multi-photo post did not finish"
ac_knobs '{"hang_rate":0}'
ac_expect "$lost" published "" ""
n=$(sandbox_get "/_sandbox/posts?platform=$P&page_id=3002" | jq '[.posts[] | select(.published)] | length')
[[ $n -eq 1 ]] || fail "hang: $n published posts"
[[ $(log_count publisher-facebook verify_found) -ge 1 ]] || fail "hang: no read-back found the post"

e2e_finish
pass "facebook multi-photo: attached_media post published once, also when its answer is lost"
