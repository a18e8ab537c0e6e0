# shellcheck shell=bash
# Helpers for the per-platform adapter tests (test_adapter_<platform>.sh):
# schedule a post, wait for its row, assert status / error class / reason,
# and count what the sandbox recorded. Source after lib.sh.

# ac_schedule ACCOUNT TEXT [autopostctl schedule args...] -> schedule id
ac_schedule() {
    local account=$1 text=$2
    shift 2
    svc_ctl schedule --account "$account" --at now --text "$text" "$@"
}

# ac_row ID -> status|error_class|error_message|attempts
ac_row() {
    stack_psql -F '|' -c "SELECT status, coalesce(error_class, ''), coalesce(error_message, ''),
        attempts FROM post_schedules WHERE id = '$1'"
}

# ac_wait ID TIMEOUT_S STATUS...: until the row is in one of the statuses.
ac_wait() {
    local id=$1 timeout=$2 start row
    shift 2
    start=$(date +%s)
    while :; do
        row=$(ac_row "$id")
        local s
        for s in "$@"; do [[ ${row%%|*} == "$s" ]] && return 0; done
        if (($(date +%s) - start >= timeout)); then
            printf 'ac_wait: %s still "%s" after %ss (wanted %s)\n' "$id" "$row" "$timeout" "$*" >&2
            return 1
        fi
        sleep 0.3
    done
}

# ac_expect ID STATUS CLASS REASON_SUBSTRING
ac_expect() {
    local row status class msg
    row=$(ac_row "$1")
    IFS='|' read -r status class msg _ <<<"$row"
    [[ $status == "$2" ]] || fail "schedule $1: status $status, expected $2 ($row)"
    [[ $class == "$3" ]] || fail "schedule $1: error class '$class', expected '$3' ($row)"
    [[ $msg == *"$4"* ]] || fail "schedule $1: reason '$msg' lacks '$4'"
    echo "ok: $2 ${3:-} ${msg:+- $msg}"
}

# ac_attempts ID -> attempts of the row
ac_attempts() { stack_psql -c "SELECT attempts FROM post_schedules WHERE id = '$1'"; }

# ac_posts PLATFORM PAGE -> posts the sandbox accepted for that account
ac_posts() {
    sandbox_get "/_sandbox/posts?platform=$1&page_id=$2" | jq '.posts | length'
}

# ac_kinds PLATFORM PAGE -> the kinds of those posts, sorted, space-separated
ac_kinds() {
    sandbox_get "/_sandbox/posts?platform=$1&page_id=$2" | jq -r '[.posts[].kind] | sort | join(" ")'
}

# ac_knobs JSON: change sandbox knobs at run time.
ac_knobs() { sandbox_post /_sandbox/config "$1" >/dev/null || fail "sandbox config $1 refused"; }
