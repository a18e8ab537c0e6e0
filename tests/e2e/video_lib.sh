# video_lib.sh -- what the video e2e tests (test_x_video.sh,
# test_linkedin_video.sh, test_facebook_video.sh) share: reading a
# schedule's row, waiting for its end, checking it, setting sandbox knobs
# and the cksum of a media file. Sourced after lib.sh; not a test itself.

# row ID -> status|error_class|error_code|error_message
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
sandbox_config() { sandbox_post /_sandbox/config "$1" >/dev/null || fail "sandbox config $1"; }
# file_cksum URL -> the POSIX cksum of the whole file, as the media host serves it
file_cksum() { curl -fsS "$1" | cksum | cut -d' ' -f1; }
attempts() { stack_psql -c "SELECT attempts FROM post_schedules WHERE id = '$1'"; }
