#!/usr/bin/env bash
# LinkedIn video through the Videos API, against the sandbox's LinkedIn
# imitation and its media host, with real nats-server, PostgreSQL and
# services. LinkedIn asks for 4 MiB parts; the publisher reads each by range
# from the media URL (the first read, 4 MiB: platforms.linkedin.
# media_chunk_size, is part 1) and PUTs it.
#   a 10 MiB video (3 parts); part 2's first PUT stored, then answered 502;
#   PROCESSING for 2 polls -> published once, in one attempt; the sandbox
#     got parts 1,2,2,3 (2 resent with the same bytes, in order), the ETags
#     in order at finalize, and assembled exactly the file's bytes (cksum)
#   processing fails -> failed (permanent, LinkedIn's reason), no post
#   the upload URLs expire after one part (403) -> a new upload from
#     initializeUpload, published once, in one attempt
#   a QuickTime file -> failed (permanent) before LinkedIn hears of it
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"

SVC_PLATFORMS="linkedin"
SVC_TIMEOUT=10s
SVC_MAX_ATTEMPTS=4
e2e_begin

author=urn:li:person:sandbox1
account=$(svc_ctl accounts add --platform linkedin --external-id "$author" --token li-video-token)

videos() { sandbox_get /_sandbox/linkedin/videos | jq -c '.videos'; }
video_count() { videos | jq length; }
posts_of() { # TEXT -> the sandbox's LinkedIn posts with that commentary (JSON array)
    sandbox_get "/_sandbox/posts?platform=linkedin" | jq -c --arg t "$1" '[.posts[] | select(.message == $t)]'
}
post() { svc_ctl schedule --account "$account" --at now --text "$1" --media "$2" --media-type video; }
# published_once ID TEXT -> the upload (JSON) the one post names
published_once() {
    local posts
    posts=$(posts_of "$2")
    [[ $(jq length <<<"$posts") -eq 1 ]] || fail "'$2': not exactly one post: $posts"
    [[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$1'") == "$(jq -r '.[0].id' <<<"$posts")" ]] ||
        fail "'$2': the row does not name the sandbox's post"
    videos | jq -c --arg v "$(jq -r '.[0].photo_id' <<<"$posts")" '.[] | select(.video == $v)'
}

svc_start scheduler
svc_start dispatcher
svc_start publisher-linkedin

# ---- a 10 MiB video: part 2 answered 502 after it was stored, slow processing --------
video_url="$SANDBOX_URL/media/clip.mp4?bytes=10485760"
sandbox_config '{"linkedin_video_part_fail":2,"linkedin_video_processing_polls":2}'
video=$(post "a video, streamed in parts" "$video_url")
wait_final "$video"
expect "$video" published "" "" ""
up=$(published_once "$video" "a video, streamed in parts")
[[ -n $up ]] || fail "video: the post names no uploaded video: $(videos)"
echo "video upload: $up"
[[ $(jq -r '[.status, .owner, .file_size, .parts, .assembled_parts, .bytes] | map(tostring) | join("|")' <<<"$up") == "AVAILABLE|$author|10485760|3|3|10485760" ]] ||
    fail "video: expected an AVAILABLE video of 10485760 bytes in 3 parts: $up"
[[ $(jq -c .arrivals <<<"$up") == "[1,2,2,3]" ]] ||
    fail "video: parts did not arrive in order with one resend of part 2: $(jq -c .arrivals <<<"$up")"
[[ $(jq -r .cksum <<<"$up") == "$(file_cksum "$video_url")" ]] ||
    fail "video: the assembled bytes are not the file's"
[[ $(jq .polls <<<"$up") -eq 3 ]] || fail "video: expected 2 PROCESSING polls and a final one: $up"
[[ $(attempts "$video") -eq 1 ]] || fail "video: the 502 cost a whole attempt instead of one resend"
[[ $(log_count publisher-linkedin linkedin_video_resend) -ge 1 ]] || fail "video: no resend logged"
sandbox_config '{"linkedin_video_part_fail":0,"linkedin_video_processing_polls":0}'

# ---- processing fails: no post -------------------------------------------------------
sandbox_config '{"linkedin_video_processing_fail":true,"linkedin_video_processing_polls":1}'
bad=$(post "a video LinkedIn cannot process" "$SANDBOX_URL/media/bad.mp4?bytes=2500000")
wait_final "$bad"
expect "$bad" failed permanent media_processing_failed "Video codec not supported"
[[ $(posts_of "a video LinkedIn cannot process" | jq length) -eq 0 ]] || fail "processing failed: a post was made"
[[ $(videos | jq -r '.[-1].status') == PROCESSING_FAILED ]] || fail "processing failed: the last video is not failed: $(videos)"
sandbox_config '{"linkedin_video_processing_fail":false,"linkedin_video_processing_polls":0}'

# ---- the upload URLs expire after one part: a new upload from initializeUpload -------
before=$(video_count)
sandbox_config '{"linkedin_video_expire_uploads":1}'
exp_url="$SANDBOX_URL/media/again.mp4?bytes=9437184"
again=$(post "a video whose upload expired" "$exp_url")
wait_final "$again"
expect "$again" published "" "" ""
up=$(published_once "$again" "a video whose upload expired")
new=$(videos | jq -c ".[$before:]")
[[ $(jq -r 'map(.status + ":" + (.expired | tostring)) | join(",")' <<<"$new") == "WAITING_UPLOAD:true,AVAILABLE:false" ]] ||
    fail "expired: expected an expired upload, then an available one: $new"
[[ $(jq -c '.[0].arrivals' <<<"$new") == "[1]" && $(jq -c .arrivals <<<"$up") == "[1,2,3]" ]] ||
    fail "expired: the new upload did not start again at part 1: $new"
[[ $(jq -r .cksum <<<"$up") == "$(file_cksum "$exp_url")" ]] || fail "expired: the bytes differ"
[[ $(log_count publisher-linkedin linkedin_video_restart) -ge 1 ]] || fail "expired: no restart logged"
[[ $(attempts "$again") -eq 1 ]] || fail "expired: the restart cost a whole attempt"
sandbox_config '{"linkedin_video_expire_uploads":0}'

# ---- refused before LinkedIn hears of it: not MP4 ------------------------------------
before=$(video_count)
mov=$(post "a QuickTime video" "$SANDBOX_URL/media/clip.mov?bytes=3000000")
wait_final "$mov"
expect "$mov" failed permanent media_type "does not serve video/mp4"
[[ $(video_count) -eq $before ]] || fail "a refused video reached LinkedIn's upload: $(videos)"

e2e_finish
pass "LinkedIn video: streamed in parts, resent, restarted, refused and published exactly once"
