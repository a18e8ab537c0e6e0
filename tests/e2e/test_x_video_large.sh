#!/usr/bin/env bash
# A large video through X's chunked upload arrives whole and in order, and
# the sandbox that checks it keeps no copy of the file (bench profile
# `media` measures the 200 MiB case; this is its correctness half):
#   the sandbox's checksum of an upload is built while segments arrive:
#     segments sent 2, 0, 0 again (same bytes), 1 -> the file's cksum;
#     a folded segment sent again with other bytes -> finalize refuses
#   a 30 MiB video, default 4 MiB chunks, through the publisher: published
#     once in one attempt, 8 segments in order, exactly the file's bytes
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="x"
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

# ---- 30 MiB through the publisher ------------------------------------------------
account=$(svc_ctl accounts add --platform x --external-id "$user" --token "$token")
svc_start scheduler
svc_start dispatcher
svc_start publisher-x
bytes=$((30 * 1024 * 1024))
url="$SANDBOX_URL/media/large.mp4?bytes=$bytes"
video=$(svc_ctl schedule --account "$account" --at now --text "a 30 MiB video" --media "$url" --media-type video)
final() { [[ $(stack_psql -c "SELECT status IN ('published', 'failed', 'unconfirmed') FROM post_schedules WHERE id = '$video'") == t ]]; }
stack_wait_for final >/dev/null || fail "the 30 MiB video did not end"
row=$(stack_psql -F '|' -c "SELECT status, attempts, coalesce(error_message, '') FROM post_schedules WHERE id = '$video'")
[[ $row == "published|1|" ]] || fail "30 MiB video: $row, expected published in one attempt"
tweets=$(sandbox_get "/_sandbox/posts?platform=x" | jq -c '[.posts[] | select(.message == "a 30 MiB video")]')
[[ $(jq length <<<"$tweets") -eq 1 ]] || fail "30 MiB video: not exactly one tweet: $tweets"
up=$(uploads | jq -c --arg m "$(jq -r '.[0].photo_id' <<<"$tweets")" '.[] | select(.id == $m)')
[[ $(jq -r '[.state, .total_bytes, .bytes, .segments] | map(tostring) | join(" ")' <<<"$up") == "succeeded $bytes $bytes 8" ]] ||
    fail "30 MiB video: state, sizes, segments: $up"
[[ $(jq -c .arrivals <<<"$up") == "[0,1,2,3,4,5,6,7]" ]] || fail "30 MiB video: segments out of order: $(jq -c .arrivals <<<"$up")"
media_file "$url" "$dir/large"
[[ $(jq -r .cksum <<<"$up") == "$(cksum <"$dir/large" | cut -d' ' -f1)" ]] ||
    fail "30 MiB video: the assembled bytes are not the file's"
echo "ok: 30 MiB in 8 segments, in order, the file's bytes, one tweet"

e2e_finish
pass "X video: a large file arrives whole and in order; the sandbox checks it without keeping it"
