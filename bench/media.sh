# shellcheck shell=bash
# The `media` profile of bench/run.sh (issue 20): a 200 MiB video through
# one X publisher and one LinkedIn publisher, their RSS growth, time and
# bytes/s, every byte checked at the sandbox. Sourced by run.sh, which
# provides begin_stack, end_stack, row, peak_rss_mb and cpu_seconds.

# media_cksum URL BYTES: the POSIX cksum of the whole file as the sandbox's
# media host serves it, read in 2 MiB ranges (less than an upload's chunk,
# so these reads do not raise the sandbox's peak the next run reports).
media_cksum() {
    local url=$1 n=$2 step=$((2 * 1024 * 1024)) a
    for ((a = 0; a < n; a += step)); do
        curl -fsS ${SANDBOX_CA:+--cacert "$SANDBOX_CA"} -r "$a-$((a + step - 1))" "$url" || return 1
    done | cksum | cut -d' ' -f1
}

# media_video_once ACCOUNT TEXT URL: schedules one video now, waits for its
# row to be final and prints "status attempts seconds" (queued -> final,
# from the row's own timestamps: the ranged reads, the uploads, finalize
# and the processing polls).
media_video_once() {
    local id
    id=$(svc_ctl schedule --account "$1" --at now --text "$2" --media "$3" --media-type video)
    final() { [[ $(stack_psql -c "SELECT status IN ('published', 'failed', 'unconfirmed') FROM post_schedules WHERE id = '$id'") == t ]]; }
    STACK_WAIT_TIMEOUT=900 stack_wait_for final >/dev/null || echo "bench: video '$2' did not finish" >&2
    stack_psql -F ' ' -c "SELECT status, attempts, round(extract(epoch FROM updated_at - queued_at)::numeric, 2)
                            FROM post_schedules WHERE id = '$id'"
}

# media_upload_json PLATFORM: the sandbox's record of the last upload, as
# {"bytes","parts","in_order","cksum","state"}: X's chunked uploads
# (segments from 0) or LinkedIn's videos (parts from 1).
media_upload_json() {
    case $1 in
    x) sandbox_get /_sandbox/x/uploads | jq -c '.uploads[-1] | {bytes, parts: .segments,
           in_order: ([range(0; .segments)] == .arrivals), cksum, state}' ;;
    linkedin) sandbox_get /_sandbox/linkedin/videos | jq -c '.videos[-1] | {bytes, parts: .assembled_parts,
           in_order: ([range(1; .assembled_parts + 1)] == .arrivals), cksum, state: .status}' ;;
    esac
}

# media_run PLATFORM ACCOUNT: the warm-up and the big video through that
# platform's publisher (the other one idle), then its rows.
media_run() {
    local platform=$1 account=$2 bytes=${BENCH_MEDIA_BYTES:-209715200} small=${BENCH_MEDIA_WARMUP_BYTES:-8388608}
    local pub=${SVC_PIDS[publisher-$platform]} url="$SANDBOX_URL/media/bench-$platform.mp4?bytes=$bytes"
    local hwm0 hwm1 hwm2 rss2 c0 c1 st0 st attempts secs up expect sb0 sb1 p=$platform
    hwm0=$(peak_rss_mb "$pub") sb0=$(peak_rss_mb "$SANDBOX_PID")
    read -r st0 _ _ <<<"$(media_video_once "$account" "bench warm-up video" "$SANDBOX_URL/media/bench-warmup-$platform.mp4?bytes=$small")"
    hwm1=$(peak_rss_mb "$pub")
    c0=$(cpu_seconds "$pub")
    read -r st attempts secs <<<"$(media_video_once "$account" "bench big video" "$url")"
    c1=$(cpu_seconds "$pub")
    hwm2=$(peak_rss_mb "$pub")
    rss2=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pub/status")
    sb1=$(peak_rss_mb "$SANDBOX_PID") # before the bench's own reads of the file below
    up=$(media_upload_json "$platform")
    expect=$(media_cksum "$url" "$bytes")
    row media "$p: video bytes / parts" "$bytes / $(jq .parts <<<"$up")" "$(jq -r .state <<<"$up") at the sandbox"
    row media "$p: warm-up / video (attempts)" "$st0 / $st ($attempts)" "target: published in 1 attempt"
    row media "$p: sandbox bytes, in order, cksum" "$(jq .bytes <<<"$up"), $(jq .in_order <<<"$up"), $([[ $(jq -r .cksum <<<"$up") == "$expect" ]] && echo same || echo DIFFERENT)" "running CRC of what arrived vs the file's"
    row media "$p: publisher VmHWM idle (MiB)" "$hwm0" "connected, before any video"
    row media "$p:   after $((small / 1048576)) MiB warm-up (MiB)" "$hwm1"
    row media "$p:   after the video (MiB)" "$hwm2" "VmRSS now $rss2"
    row media "$p: publisher RSS growth (MiB)" "$(awk -v a="$hwm2" -v b="$hwm0" 'BEGIN { printf "%.1f", a - b }')" "target < 20 (peak - idle peak)"
    row media "$p:   of which the big video (MiB)" "$(awk -v a="$hwm2" -v b="$hwm1" 'BEGIN { printf "%.1f", a - b }')" "beyond the warm-up's peak"
    row media "$p: queued -> published (s)" "$secs" "incl. the processing polls (1 s each)"
    row media "$p: throughput (MiB/s)" "$(awk -v n="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", n / 1048576 / s }')" "read from the host + uploaded"
    row media "$p: publisher CPU s / 100 MiB" "$(awk -v a="$c1" -v b="$c0" -v n="$bytes" 'BEGIN { printf "%.3f", (a - b) * 104857600 / n }')"
    row media "$p: sandbox VmHWM before / after (MiB)" "$sb0 / $sb1" "makes and checks the bytes, keeps none"
}

# Issue 20: a 200 MiB video through one publisher, its RSS growing by less
# than 20 MiB; X's chunked upload, then LinkedIn's Videos API, each through
# its own publisher. The publishers hold one chunk at a time (chunked.c);
# the sandbox makes the media per range and folds the uploads into a
# running checksum (tests/sandbox/fold.c), so neither side holds the file.
# A small video first takes the one-off costs (the first chunk's buffers,
# TLS, curl's caches) so the growth the big one adds is told apart from
# them. BENCH_MEDIA_PLATFORMS (default "x linkedin"), BENCH_MEDIA_BYTES
# (default 200 MiB), BENCH_MEDIA_CHUNK (platforms.<p>.media_chunk_size:
# X's append size; LinkedIn names its own 4 MiB parts).
profile_media() {
    local media_platforms=${BENCH_MEDIA_PLATFORMS:-x linkedin} platform token=bench-media-token user account
    SVC_PLATFORMS=$media_platforms SVC_MEDIA_CHUNK_SIZE=${BENCH_MEDIA_CHUNK:-} begin_stack --latency-ms 0
    svc_start scheduler
    svc_start dispatcher
    for platform in $media_platforms; do svc_start "publisher-$platform"; done
    sleep 2 # connected and idle
    for platform in $media_platforms; do
        case $platform in
        x) user=$(curl -fsS ${SANDBOX_CA:+--cacert "$SANDBOX_CA"} -H "Authorization: Bearer $token" \
               "$SANDBOX_URL/x/2/users/me" | jq -r .data.id) ;;
        linkedin) user=urn:li:person:benchmedia ;;
        *) echo "bench: media runs x and linkedin, not $platform" >&2; continue ;;
        esac
        account=$(svc_ctl accounts add --platform "$platform" --external-id "$user" --token "$token")
        media_run "$platform" "$account"
    done
    end_stack
}
