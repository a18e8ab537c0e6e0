#!/usr/bin/env bash
# X video and GIF through the chunked upload, against the sandbox's X
# imitation and its media host, with real nats-server, PostgreSQL and
# services. Chunks of 1 MiB (platforms.x.media_chunk_size), so a 12 MiB
# video is 12 ranged reads and 12 appends.
#   a 12 MiB video; segment 3's first append stored, then answered 503;
#   processing in_progress for 2 polls -> published once, in one attempt,
#     the sandbox assembled segments 0..11 (3 twice, nothing else repeated,
#     in order) into exactly the file's bytes (POSIX cksum)
#   a 3 MB GIF -> tweet_gif, image/gif, published once
#   processing fails -> failed (permanent, X's reason), no tweet
#   the upload's media id expires after one append -> a new upload from
#     initialize, published once
#   a 16 MiB GIF -> failed (permanent, too large) before X hears of it
#   a host that ignores Range -> failed (permanent) after one chunk's bytes
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"

SVC_PLATFORMS="x"
SVC_MEDIA_CHUNK_SIZE=1048576
SVC_TIMEOUT=10s
SVC_MAX_ATTEMPTS=4
e2e_begin

token=x-video-token
user=$(curl -fsS -H "Authorization: Bearer $token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
[[ $user =~ ^[0-9]+$ ]] || fail "sandbox users/me gave no id: $user"
account=$(svc_ctl accounts add --platform x --external-id "$user" --token "$token")

uploads() { sandbox_get /_sandbox/x/uploads | jq -c '.uploads'; }
upload_count() { uploads | jq length; }
tweet_of() { # TEXT -> the sandbox's tweets with that text (JSON array)
    sandbox_get "/_sandbox/posts?platform=x" | jq -c --arg t "$1" '[.posts[] | select(.message == $t)]'
}
# post TEXT URL TYPE -> schedule id
post() { svc_ctl schedule --account "$account" --at now --text "$1" --media "$2" --media-type "$3"; }
# published_once ID TEXT -> the upload (JSON) the one tweet names
published_once() {
    local tweets
    tweets=$(tweet_of "$2")
    [[ $(jq length <<<"$tweets") -eq 1 ]] || fail "'$2': not exactly one tweet: $tweets"
    [[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$1'") == "$(jq -r '.[0].id' <<<"$tweets")" ]] ||
        fail "'$2': the row does not name the sandbox's tweet"
    uploads | jq -c --arg m "$(jq -r '.[0].photo_id' <<<"$tweets")" '.[] | select(.id == $m)'
}

svc_start scheduler
svc_start dispatcher
svc_start publisher-x

# ---- a 12 MiB video: one append answered 503 after it was stored, slow processing ----
video_url="$SANDBOX_URL/media/clip.mp4?bytes=12582912"
sandbox_config '{"x_append_fail_segment":4,"x_processing_polls":2}'
video=$(post "a video, streamed in chunks" "$video_url" video)
wait_final "$video"
expect "$video" published "" "" ""
up=$(published_once "$video" "a video, streamed in chunks")
[[ -n $up ]] || fail "video: the tweet names no chunked upload: $(uploads)"
echo "video upload: $(jq -c 'del(.user)' <<<"$up")"
[[ $(jq -r '.state + "|" + .media_type + "|" + .media_category' <<<"$up") == "succeeded|video/mp4|tweet_video" ]] ||
    fail "video: upload state/type/category: $up"
[[ $(jq -r '.total_bytes, .bytes, .segments' <<<"$up" | paste -sd' ') == "12582912 12582912 12" ]] ||
    fail "video: expected 12582912 bytes in 12 segments: $up"
# Every chunk in order; the one answered 503 sent again with the same index.
[[ $(jq -c .arrivals <<<"$up") == "[0,1,2,3,3,4,5,6,7,8,9,10,11]" ]] ||
    fail "video: segments did not arrive in order with one resend of 3: $(jq -c .arrivals <<<"$up")"
[[ $(jq -r .cksum <<<"$up") == "$(file_cksum "$video_url")" ]] ||
    fail "video: the assembled bytes are not the file's"
[[ $(jq .polls <<<"$up") -eq 3 ]] || fail "video: expected 2 in_progress polls and a final one: $up"
[[ $(stack_psql -c "SELECT attempts FROM post_schedules WHERE id = '$video'") -eq 1 ]] ||
    fail "video: the 503 cost a whole attempt instead of one resend"
[[ $(log_count publisher-x x_media_resend) -ge 1 ]] || fail "video: no resend logged"
sandbox_config '{"x_append_fail_segment":0,"x_processing_polls":0}'

# ---- a GIF ---------------------------------------------------------------------------
gif_url="$SANDBOX_URL/media/dance.gif?bytes=3000000"
gif=$(post "a GIF" "$gif_url" gif)
wait_final "$gif"
expect "$gif" published "" "" ""
up=$(published_once "$gif" "a GIF")
[[ $(jq -r '.state + "|" + .media_type + "|" + .media_category' <<<"$up") == "succeeded|image/gif|tweet_gif" ]] ||
    fail "GIF: upload state/type/category: $up"
[[ $(jq -c .arrivals <<<"$up") == "[0,1,2]" && $(jq -r .cksum <<<"$up") == "$(file_cksum "$gif_url")" ]] ||
    fail "GIF: segments or bytes differ: $up"

# ---- processing fails: no tweet ------------------------------------------------------
sandbox_config '{"x_processing_fail":true,"x_processing_polls":1}'
bad=$(post "a video X cannot process" "$SANDBOX_URL/media/long.mp4?bytes=2500000" video)
wait_final "$bad"
expect "$bad" failed permanent media_processing_failed "longer than 140 seconds"
[[ $(tweet_of "a video X cannot process" | jq length) -eq 0 ]] || fail "processing failed: a tweet was posted"
[[ $(uploads | jq -r '.[-1].state') == failed ]] || fail "processing failed: the last upload is not failed: $(uploads)"
sandbox_config '{"x_processing_fail":false,"x_processing_polls":0}'

# ---- the media id expires after one append: a new upload from initialize -------------
before=$(upload_count)
sandbox_config '{"x_expire_uploads":1}'
exp_url="$SANDBOX_URL/media/again.mp4?bytes=3145728"
again=$(post "a video whose upload expired" "$exp_url" video)
wait_final "$again"
expect "$again" published "" "" ""
up=$(published_once "$again" "a video whose upload expired")
new=$(uploads | jq -c ".[$before:]")
[[ $(jq -r 'map(.state) | join(",")' <<<"$new") == "expired,succeeded" ]] ||
    fail "expired: expected an expired upload, then a succeeded one: $new"
[[ $(jq -c '.[0].arrivals' <<<"$new") == "[0]" && $(jq -c .arrivals <<<"$up") == "[0,1,2]" ]] ||
    fail "expired: the new upload did not start again at segment 0: $new"
[[ $(jq -r .cksum <<<"$up") == "$(file_cksum "$exp_url")" ]] || fail "expired: the bytes differ"
[[ $(log_count publisher-x x_media_restart) -ge 1 ]] || fail "expired: no restart logged"
[[ $(stack_psql -c "SELECT attempts FROM post_schedules WHERE id = '$again'") -eq 1 ]] ||
    fail "expired: the restart cost a whole attempt"
sandbox_config '{"x_expire_uploads":0}'

# ---- refused before X hears of it: a GIF over 15 MB, a host without Range -------------
before=$(upload_count)
big=$(post "a GIF over X's limit" "$SANDBOX_URL/media/big.gif?bytes=16777216" gif)
norange=$(post "a host that ignores Range" "$SANDBOX_URL/media/plain.mp4?bytes=3000000&norange=1" video)
wait_final "$big"
wait_final "$norange"
expect "$big" failed permanent media_too_large "GIF is larger than X's limit"
expect "$norange" failed permanent media_range "ignores ranged reads"
[[ $(upload_count) -eq $before ]] || fail "refused media reached X's upload: $(uploads)"

e2e_finish
pass "X video and GIF: streamed in chunks, resent, restarted, refused and published exactly once"
