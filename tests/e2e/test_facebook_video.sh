#!/usr/bin/env bash
# Facebook page videos and reels through the resumable upload, against the
# sandbox's Facebook imitation and its media host, with real nats-server,
# PostgreSQL and services. Chunks of 1 MiB (platforms.facebook.
# media_chunk_size), so a 3 MiB video is 4 ranged reads and 4 transfers.
#   a page video: chunk 2's transfer stored, then answered 500 (resent with
#     the same bytes); the finish committed and its connection reset (read
#     back by the video id); processing for 2 polls -> published once, in
#     one attempt; the sandbox assembled exactly the file's bytes (cksum)
#   a reel: rupload chunk 1 stored, then answered 500 -> published once, the
#     same checks
#   processing fails -> failed (permanent, Facebook's reason)
#   the upload session expires after one chunk -> a new session from
#     start, published once
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"

SVC_PLATFORMS="facebook"
SVC_MEDIA_CHUNK_SIZE=1048576
SVC_TIMEOUT=10s
SVC_MAX_ATTEMPTS=4
e2e_begin

page=4001
account=$(svc_ctl accounts add --platform facebook --external-id "$page" --token fb-video-token)

videos() { sandbox_get /_sandbox/facebook/videos | jq -c '.videos'; }
posts_of() { # TEXT -> the sandbox's published Facebook posts with that message
    sandbox_get "/_sandbox/posts?platform=facebook&page_id=$page" |
        jq -c --arg t "$1" '[.posts[] | select(.published and .message == $t)]'
}
# post TEXT URL [--format reel] -> schedule id
post() { svc_ctl schedule --account "$account" --at now --text "$1" --media "$2" --media-type video "${@:3}"; }
# published_once ID TEXT KIND -> the upload (JSON) the one post names
published_once() {
    local posts
    posts=$(posts_of "$2")
    [[ $(jq length <<<"$posts") -eq 1 && $(jq -r '.[0].kind' <<<"$posts") == "$3" ]] ||
        fail "'$2': not exactly one $3: $posts"
    [[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$1'") == "$(jq -r '.[0].id' <<<"$posts")" ]] ||
        fail "'$2': the row does not name the sandbox's post"
    [[ $(attempts "$1") -eq 1 ]] || fail "'$2': took $(attempts "$1") attempts"
    videos | jq -c --arg v "$(jq -r '.[0].id' <<<"$posts")" '.[] | select(.video_id == $v)'
}
# whole_file UPLOAD URL SIZE: the sandbox got exactly the file's bytes
whole_file() {
    [[ $(jq -r '[.file_size, .bytes, .published] | map(tostring) | join("|")' <<<"$1") == "$3|$3|true" ]] ||
        fail "expected a published upload of $3 bytes: $1"
    [[ $(jq -r .cksum <<<"$1") == "$(file_cksum "$2")" ]] || fail "the assembled bytes are not the file's: $1"
}

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook

# ---- a page video: chunk 2 answered 500 after it was stored, finish reset after commit
size=$((3 * 1048576 + 1000))
video_url="$SANDBOX_URL/media/clip.mp4?bytes=$size"
sandbox_config '{"facebook_video_transfer_fail":2,"facebook_video_processing_polls":2,"close_rate":1}'
video=$(post "a page video, streamed in chunks" "$video_url")
wait_final "$video"
sandbox_config '{"close_rate":0}'
expect "$video" published "" "" ""
up=$(published_once "$video" "a page video, streamed in chunks" video)
echo "video upload: $up"
whole_file "$up" "$video_url" "$size"
[[ $(jq -c '[.kind, .chunks, .resends, .arrivals]' <<<"$up") == '["video",4,1,[0,1048576,1048576,2097152,3145728]]' ]] ||
    fail "video: expected 4 chunks in order, chunk 2 sent twice: $up"
[[ $(jq .polls <<<"$up") -eq 3 ]] || fail "video: expected 2 processing polls and a final one: $up"
[[ $(log_count publisher-facebook facebook_video_resend) -ge 1 ]] || fail "video: no resend logged"
[[ $(log_count publisher-facebook facebook_video_readback) -ge 1 ]] ||
    fail "video: the reset finish was not read back"

# ---- a reel: rupload chunk 1 answered 500 after it was stored ----------------------
size=$((2 * 1048576 + 10))
reel_url="$SANDBOX_URL/media/reel.mp4?bytes=$size"
sandbox_config '{"facebook_video_transfer_fail":1,"facebook_video_processing_polls":0}'
reel=$(post "a reel, streamed in chunks" "$reel_url" --format reel)
wait_final "$reel"
expect "$reel" published "" "" ""
up=$(published_once "$reel" "a reel, streamed in chunks" reel)
echo "reel upload: $up"
whole_file "$up" "$reel_url" "$size"
[[ $(jq -c '[.kind, .chunks, .resends, .arrivals]' <<<"$up") == '["reel",3,1,[0,0,1048576,2097152]]' ]] ||
    fail "reel: expected 3 chunks in order, chunk 1 sent twice: $up"

# ---- processing fails: the post fails with Facebook's reason ----------------------
sandbox_config '{"facebook_video_transfer_fail":0,"facebook_video_processing_fail":1}'
bad=$(post "a video Facebook cannot process" "$SANDBOX_URL/media/bad.mp4?bytes=5000")
wait_final "$bad"
sandbox_config '{"facebook_video_processing_fail":0}'
expect "$bad" failed permanent media_processing_failed "not a valid video"

# ---- the upload session expires after one chunk: a new one from start ------------
size=$((1048576 + 5))
exp_url="$SANDBOX_URL/media/expiring.mp4?bytes=$size"
sandbox_config '{"facebook_video_expire_uploads":1}'
exp=$(post "a video whose session expired" "$exp_url")
wait_final "$exp"
expect "$exp" published "" "" ""
up=$(published_once "$exp" "a video whose session expired" video)
whole_file "$up" "$exp_url" "$size"
[[ $(videos | jq '[.[] | select(.expired)] | length') -eq 1 ]] || fail "expired: no expired session: $(videos)"
[[ $(log_count publisher-facebook facebook_video_restart) -ge 1 ]] || fail "expired: no restart logged"

e2e_finish
pass "facebook video: a page video and a reel streamed in chunks and published once (a 500 chunk resent, a reset finish read back); failed processing and an expired session handled"
