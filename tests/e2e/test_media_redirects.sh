#!/usr/bin/env bash
# A post's media URL that redirects (a CDN, a link shortener) is followed
# through the outbound policy: every hop is a new connection that the policy
# checks again, at most AP_HTTP_MAX_REDIRECTS (5) hops. Against the sandbox's
# media host (/media/redirect/{code}/{hops}/{file}: a chain of hops to the
# file) and its LinkedIn imitation, with real nats-server, PostgreSQL and
# services (publisher.media_allow_private on: the sandbox is on loopback).
#   an image behind a 301                       -> published once
#   an image behind five 302s (the limit)       -> published once
#   a video behind two 307s (every ranged read
#     follows them; Range survives the hops)    -> published once, the bytes the file's
#   a document behind a 307                     -> published once, the bytes the file's
#   an image or a video behind six hops         -> failed, permanent media_url_refused
#                                                  "more than 5 redirects", nothing posted
#   an image redirected to file:///etc/passwd   -> failed, permanent media_url_refused
#                                                  (the hop's scheme refused), nothing posted
# media_allow_private still limits hops to http and https (the file: hop);
# a hop to a private address or to plain http meets the same checks as a
# first URL with it off (a new connection per hop, https-only redirects), but
# on loopback no first hop is public: that part is left to test_http
# (test_outside_url_redirects) and test_media_refused (the policy itself).
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="linkedin"
SVC_TIMEOUT=10s
SVC_MAX_ATTEMPTS=4
e2e_begin

author=urn:li:person:sandbox1
account=$(svc_ctl accounts add --platform linkedin --external-id "$author" --token li-redirect-token)

row() { stack_psql -F '|' -c "SELECT status, coalesce(error_class, ''), coalesce(error_code, ''), coalesce(error_message, '') FROM post_schedules WHERE id = '$1'"; }
status_in() { # ID STATUS...
    local st s
    st=$(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$1'")
    for s in "${@:2}"; do [[ $st == "$s" ]] && return 0; done
    return 1
}
wait_final() { stack_wait_for status_in "$1" published failed unconfirmed >/dev/null || fail "schedule $1 did not end: $(row "$1")"; }
# expect ID STATUS CLASS CODE REASON_SUBSTRING
expect() {
    local r st cls code msg
    r=$(row "$1")
    IFS='|' read -r st cls code msg <<<"$r"
    [[ $st == "$2" && $cls == "$3" && $code == "$4" && $msg == *"$5"* ]] ||
        fail "schedule $1: got '$r', expected $2|$3|$4|...$5..."
    echo "ok: $st ${cls:-(no class)} ${msg:0:100}"
}
posts_of() { # TEXT -> the sandbox's LinkedIn posts with that commentary (JSON array)
    sandbox_get "/_sandbox/posts?platform=linkedin" | jq -c --arg t "$1" '[.posts[] | select(.message == $t)]'
}
# post TEXT URL TYPE -> schedule id
post() { svc_ctl schedule --account "$account" --at now --text "$1" --media "$2" --media-type "$3"; }
file_cksum() { curl -fsS "$1" | cksum | cut -d' ' -f1; }
# published_once ID TEXT -> the media id the one post names
published_once() {
    local posts
    posts=$(posts_of "$2")
    [[ $(jq length <<<"$posts") -eq 1 ]] || fail "'$2': not exactly one post: $posts"
    [[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$1'") == "$(jq -r '.[0].id' <<<"$posts")" ]] ||
        fail "'$2': the row does not name the sandbox's post"
    jq -r '.[0].photo_id' <<<"$posts"
}
hops() { # CODE HOPS FILE?QUERY -> a URL that redirects HOPS times to /media/FILE
    printf '%s/media/redirect/%s/%s/%s' "$SANDBOX_URL" "$1" "$2" "$3"
}

# The chain itself, as a client sees it: each hop's status and where it points.
[[ $(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "$(hops 307 2 a.png?bytes=10)") == "307 $(hops 307 1 a.png?bytes=10)" ]] ||
    fail "the sandbox's redirect chain does not step toward the file"
[[ $(curl -sS -L -o /dev/null -w '%{http_code} %{num_redirects} %{size_download}' "$(hops 301 3 a.png?bytes=10)") == "200 3 10" ]] ||
    fail "the sandbox's redirect chain does not end at the file"

svc_start scheduler
svc_start dispatcher
svc_start publisher-linkedin

one=$(post "an image behind a 301" "$(hops 301 1 one.png)" image)
five=$(post "an image behind five 302s" "$(hops 302 5 five.jpg)" image)
video_url=$(hops 307 2 clip.mp4?bytes=9437184)
video=$(post "a video behind two 307s" "$video_url" video)
doc_url=$(hops 307 1 deck.pdf?bytes=700000)
doc=$(post "a document behind a 307" "$doc_url" document)
six=$(post "an image behind six hops" "$(hops 302 6 six.png)" image)
file_hop=$(post "an image redirected to a local file" "$SANDBOX_URL/media/redirect/302/to?url=file:///etc/passwd" image)
six_video=$(post "a video behind six hops" "$(hops 301 6 six.mp4?bytes=3000000)" video)

for id in "$one" "$five" "$video" "$doc"; do
    wait_final "$id"
    expect "$id" published "" "" ""
done
[[ $(published_once "$one" "an image behind a 301") == urn:li:image:* ]] || fail "301: the post has no image"
[[ $(published_once "$five" "an image behind five 302s") == urn:li:image:* ]] || fail "302 x5: the post has no image"

urn=$(published_once "$video" "a video behind two 307s")
up=$(sandbox_get /_sandbox/linkedin/videos | jq -c --arg v "$urn" '.videos[] | select(.video == $v)')
[[ $(jq -r '[.status, .parts, .bytes] | map(tostring) | join("|")' <<<"$up") == "AVAILABLE|3|9437184" ]] ||
    fail "video: expected an AVAILABLE video of 9437184 bytes in 3 parts: $up"
[[ $(jq -r .cksum <<<"$up") == "$(file_cksum "$SANDBOX_URL/media/clip.mp4?bytes=9437184")" ]] ||
    fail "video: the bytes read through the redirects are not the file's"

urn=$(published_once "$doc" "a document behind a 307")
up=$(sandbox_get /_sandbox/linkedin/documents | jq -c --arg d "$urn" '.documents[] | select(.document == $d)')
[[ $(jq -r .cksum <<<"$up") == "$(file_cksum "$SANDBOX_URL/media/deck.pdf?bytes=700000")" && $(jq -r .title <<<"$up") == deck.pdf ]] ||
    fail "document: the bytes read through the redirect are not the file's: $up"

for id in "$six" "$six_video"; do
    wait_final "$id"
    expect "$id" failed permanent media_url_refused "media 1: more than 5 redirects"
done
wait_final "$file_hop"
expect "$file_hop" failed permanent media_url_refused "media 1: only https URLs are allowed"
[[ $(posts_of "an image redirected to a local file" | jq length) -eq 0 ]] ||
    fail "a post whose media redirected to a file was made"
[[ $(stack_psql -c "SELECT attempts FROM post_schedules WHERE id = '$six'") -eq 1 ]] ||
    fail "too many redirects was retried instead of refused"
[[ $(posts_of "an image behind six hops" | jq length) -eq 0 && $(posts_of "a video behind six hops" | jq length) -eq 0 ]] ||
    fail "a post whose media had too many redirects was made"
[[ $(sandbox_get /_sandbox/linkedin/videos | jq '[.videos[] | select(.file_size == 3000000)] | length') -eq 0 ]] ||
    fail "a video behind too many redirects reached LinkedIn's upload"

e2e_finish
pass "media redirects: followed up to 5 hops for images, videos and documents, refused beyond"
