#!/usr/bin/env bash
# A large video through X's chunked upload and LinkedIn's Videos API
# arrives whole and in order, and the sandbox that checks it keeps no copy
# of the file (bench profile `media` measures the 200 MiB case; this is its
# correctness half):
#   the sandbox's checksum of an upload is built while segments arrive
#   (tests/sandbox/fold.c), driven by hand on X's API:
#     segments sent 2, 0, 0 again (same bytes), 1 -> the file's cksum;
#     a folded segment sent again with other bytes -> finalize refuses
#   a 30 MiB video through each publisher (X: default 4 MiB appends;
#     LinkedIn: its 4 MiB parts): published once in one attempt, 8 parts in
#     order, exactly the file's bytes
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="x linkedin"
e2e_begin

token=x-large-token
user=$(curl -fsS -H "Authorization: Bearer $token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
[[ $user =~ ^[0-9]+$ ]] || fail "sandbox users/me gave no id: $user"
uploads() { sandbox_get /_sandbox/x/uploads | jq -c '.uploads'; }
media_file() { curl -fsS -o "$2" "$1" || fail "media host: $1"; }

# ---- the sandbox's running checksum, driven by hand ------------------------------
dir=$STACK_DIR/segments
mkdir -p "$dir"
seg=100000
file_url="$SANDBOX_URL/media/by-hand.mp4?bytes=$((3 * seg))"
media_file "$file_url" "$dir/whole"
for i in 0 1 2; do dd if="$dir/whole" of="$dir/$i" bs="$seg" skip="$i" count=1 status=none; done
head -c "$seg" /dev/zero >"$dir/other"
x_call() { # PATH [CURL ARGS...]: the HTTP status; the answer goes to $dir/out
    curl -sS -o "$dir/out" -w '%{http_code}' -H "Authorization: Bearer $token" "${@:2}" "$SANDBOX_URL/x/2/media/upload$1"
}
init() {
    [[ $(x_call /initialize -H 'Content-Type: application/json' \
        -d "{\"media_type\":\"video/mp4\",\"total_bytes\":$((3 * seg)),\"media_category\":\"tweet_video\"}") == 200 ]] ||
        fail "initialize: $(cat "$dir/out")"
    jq -r .data.id "$dir/out"
}
append() { # ID INDEX FILE
    [[ $(x_call "/$1/append" -F "segment_index=$2" -F "media=@$3") == 200 ]] ||
        fail "append $2 of $1: $(cat "$dir/out")"
}

id=$(init)
append "$id" 2 "$dir/2"
append "$id" 0 "$dir/0"
append "$id" 0 "$dir/0"
append "$id" 1 "$dir/1"
[[ $(x_call "/$id/finalize" -X POST) == 200 ]] || fail "finalize of segments 2,0,0,1: $(cat "$dir/out")"
up=$(uploads | jq -c --arg id "$id" '.[] | select(.id == $id)')
[[ $(jq -c '[.arrivals, .segments, .bytes]' <<<"$up") == "[[2,0,0,1],3,$((3 * seg))]" ]] ||
    fail "out of order: arrivals, segments, bytes: $up"
[[ $(jq -r .cksum <<<"$up") == "$(cksum <"$dir/whole" | cut -d' ' -f1)" ]] ||
    fail "out of order: the checksum is not the file's: $up"
echo "ok: segments 2,0,0,1 assembled into the file's bytes"

id=$(init)
append "$id" 0 "$dir/0"
append "$id" 1 "$dir/1"
append "$id" 0 "$dir/other"
append "$id" 2 "$dir/2"
[[ $(x_call "/$id/finalize" -X POST) == 400 ]] ||
    fail "a folded segment resent with other bytes: finalize answered $(cat "$dir/out")"
grep -q "other bytes" "$dir/out" || fail "finalize's refusal names no reason: $(cat "$dir/out")"
echo "ok: a folded segment resent with other bytes is refused at finalize"

# ---- 30 MiB through each publisher -----------------------------------------------
x_account=$(svc_ctl accounts add --platform x --external-id "$user" --token "$token")
li_account=$(svc_ctl accounts add --platform linkedin --external-id urn:li:person:large1 --token li-large-token)
svc_start scheduler
svc_start dispatcher
svc_start publisher-x
svc_start publisher-linkedin
bytes=$((30 * 1024 * 1024))
# published_once ACCOUNT PLATFORM TEXT URL -> the media id the one post names
published_once() {
    local id row posts
    id=$(svc_ctl schedule --account "$1" --at now --text "$3" --media "$4" --media-type video)
    final() { [[ $(stack_psql -c "SELECT status IN ('published', 'failed', 'unconfirmed') FROM post_schedules WHERE id = '$id'") == t ]]; }
    stack_wait_for final >/dev/null || fail "$2: the 30 MiB video did not end"
    row=$(stack_psql -F '|' -c "SELECT status, attempts, coalesce(error_message, '') FROM post_schedules WHERE id = '$id'")
    [[ $row == "published|1|" ]] || fail "$2: 30 MiB video: $row, expected published in one attempt"
    posts=$(sandbox_get "/_sandbox/posts?platform=$2" | jq -c --arg t "$3" '[.posts[] | select(.message == $t)]')
    [[ $(jq length <<<"$posts") -eq 1 ]] || fail "$2: 30 MiB video: not exactly one post: $posts"
    [[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$id'") == "$(jq -r '.[0].id' <<<"$posts")" ]] ||
        fail "$2: the row does not name the sandbox's post"
    jq -r '.[0].photo_id // .[0].media_id // empty' <<<"$posts"
}
expect_whole() { # PLATFORM UPLOAD_JSON URL: 8 parts in order, exactly the file's bytes
    media_file "$3" "$dir/large-$1"
    [[ $(jq -r .cksum <<<"$2") == "$(cksum <"$dir/large-$1" | cut -d' ' -f1)" ]] ||
        fail "$1: 30 MiB video: the assembled bytes are not the file's"
    echo "ok: $1: 30 MiB in 8 parts, in order, the file's bytes, one post"
}

url="$SANDBOX_URL/media/large-x.mp4?bytes=$bytes"
media=$(published_once "$x_account" x "a 30 MiB video" "$url")
up=$(uploads | jq -c --arg m "$media" '.[] | select(.id == $m)')
[[ $(jq -r '[.state, .total_bytes, .bytes, .segments] | map(tostring) | join(" ")' <<<"$up") == "succeeded $bytes $bytes 8" ]] ||
    fail "x: 30 MiB video: state, sizes, segments: $up (the tweet names '$media')"
[[ $(jq -c .arrivals <<<"$up") == "[0,1,2,3,4,5,6,7]" ]] || fail "x: 30 MiB video: segments out of order: $(jq -c .arrivals <<<"$up")"
expect_whole x "$up" "$url"

url="$SANDBOX_URL/media/large-li.mp4?bytes=$bytes"
media=$(published_once "$li_account" linkedin "a 30 MiB video on LinkedIn" "$url")
up=$(sandbox_get /_sandbox/linkedin/videos | jq -c --arg m "$media" '.videos[] | select(.video == $m)')
[[ $(jq -r '[.status, .file_size, .bytes, .assembled_parts] | map(tostring) | join(" ")' <<<"$up") == "AVAILABLE $bytes $bytes 8" ]] ||
    fail "linkedin: 30 MiB video: status, sizes, parts: $up (the post names '$media')"
[[ $(jq -c .arrivals <<<"$up") == "[1,2,3,4,5,6,7,8]" ]] || fail "linkedin: 30 MiB video: parts out of order: $(jq -c .arrivals <<<"$up")"
expect_whole linkedin "$up" "$url"

e2e_finish
pass "video: a large file arrives whole and in order on X and LinkedIn; the sandbox checks it without keeping it"
