#!/usr/bin/env bash
# Every error class of the Facebook adapter end to end: the sandbox answers
# the platform's error shape, the adapter classifies it, the publisher
# reports it, the dispatcher stores it, and the row says why.
#
#   reauth      expired* token -> code 190/463 -> failed, account reauth_required
#   permanent   noperm* token  -> code 200     -> failed
#   duplicate   same text twice on a page -> code 506 -> failed (the other published)
#   retry       every call a 5xx (code 2) -> ambiguous (read back) each attempt,
#               failed after max_attempts once a last read-back finds nothing
#   ambiguous   publish accepted, never answered -> timeout -> read back -> published
#   unconfirmed publish never answered and the read-back fails -> unconfirmed
# (invalid, the class with no call at all, is test_invalid_schedules.sh.)
source "$(dirname "$0")/lib.sh"

SVC_MAX_ATTEMPTS=2 SVC_TIMEOUT=1s SVC_BACKOFF_BASE=100ms SVC_BACKOFF_MAX=300ms e2e_begin
good=$(svc_ctl accounts add --platform facebook --external-id 4001 --token good-token)
expired=$(svc_ctl accounts add --platform facebook --external-id 4002 --token expired-token)
noperm=$(svc_ctl accounts add --platform facebook --external-id 4003 --token noperm-token)

# schedule ACCOUNT TEXT -> schedule id (due now)
schedule() {
    stack_psql -v account="$1" -v text="$2" <<'SQL'
WITH p AS (INSERT INTO posts (text) VALUES (:'text') RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT p.id, (:'account')::uuid, now() FROM p RETURNING id;
SQL
}
# expect ID STATUS CLASS CODE REASON_SUBSTRING
expect() {
    local row
    row=$(stack_psql -F '|' -c "SELECT status, coalesce(error_class, ''), coalesce(error_code, ''), coalesce(error_message, '') FROM post_schedules WHERE id = '$1'")
    IFS='|' read -r status class code reason <<<"$row"
    [[ $status == "$2" && $class == "$3" && $code == "$4" && $reason == *"$5"* ]] ||
        fail "schedule $1: got '$row', expected $2|$3|$4|*$5*"
    echo "ok: $2 ${3:-(no class)} ${4:-} - ${reason:0:90}"
}
terminal() { svc_wait_terminal "$1" 60 >/dev/null 2>&1 || fail "only $(svc_count_status published failed unconfirmed cancelled) of $1 rows ended"; }

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook

# ---- token, permission and duplicate errors, all at once ---------------------
reauth=$(schedule "$expired" "post on an expired token")
perm=$(schedule "$noperm" "post without the permission")
dup1=$(schedule "$good" "the same words twice")
dup2=$(schedule "$good" "the same words twice")
terminal 4
expect "$reauth" failed reauth 190/463 "Session has expired"
[[ $(stack_psql -c "SELECT status FROM social_accounts WHERE id = '$expired'") == reauth_required ]] ||
    fail "the expired account was not marked reauth_required"
expect "$perm" failed permanent 200 "pages_manage_posts"
st1=$(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$dup1'")
if [[ $st1 == published ]]; then first=$dup1 second=$dup2; else first=$dup2 second=$dup1; fi
expect "$first" published "" "" ""
expect "$second" failed duplicate 506 "Duplicate"

# ---- retry: every call a transient 5xx ---------------------------------------
sandbox_post /_sandbox/config '{"error_rate_5xx": 1}' >/dev/null
retry=$(schedule "$good" "the platform is down")
terminal 5
sandbox_post /_sandbox/config '{"error_rate_5xx": 0}' >/dev/null
expect "$retry" failed retry 2 "unexpected error"
# A 5xx to the publishing call may hide a live post: each attempt is
# ambiguous, read back before the next, and after the last one a final
# read-back finds nothing, so the post fails (it does not stay unconfirmed).
n=$(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$retry' AND event = 'retrying' AND error_class = 'ambiguous'")
[[ $n == 1 ]] || fail "the retried schedule has $n ambiguous retrying lines, expected 1 (then failed at attempt 2)"
msg=$(stack_psql -c "SELECT error_message FROM post_schedules WHERE id = '$retry'")
[[ $msg == *"not on the platform, nothing was posted"* ]] || fail "no final read-back in the reason: $msg"

# ---- ambiguous: accepted but never answered; the read-back finds it ----------
sandbox_post /_sandbox/config '{"hang_rate": 1}' >/dev/null
amb=$(schedule "$good" "accepted in silence")
terminal 6
sandbox_post /_sandbox/config '{"hang_rate": 0}' >/dev/null
expect "$amb" published "" "" ""
n=$(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$amb' AND event = 'retrying' AND error_class = 'ambiguous'")
[[ $n == 1 ]] || fail "the ambiguous attempt left $n history lines"
[[ $(sandbox_get /_sandbox/posts | jq '[.posts[] | select(.message == "accepted in silence")] | length') == 1 ]] ||
    fail "the ambiguous post is not exactly once on the page"

# ---- unconfirmed: never answered, and the read-back fails too ----------------
sandbox_post /_sandbox/config '{"hang_rate": 1}' >/dev/null
hangs=$(sandbox_stat hangs)
unc=$(schedule "$good" "nobody can tell")
held() { (($(sandbox_stat hangs) > hangs)); }
stack_wait_for held >/dev/null || fail "the publish was not held"
sandbox_post /_sandbox/config '{"hang_rate": 0, "error_rate_5xx": 1, "faults_on_reads": true}' >/dev/null
terminal 7
sandbox_post /_sandbox/config '{"error_rate_5xx": 0, "faults_on_reads": false}' >/dev/null
expect "$unc" unconfirmed ambiguous 2 "unexpected error"
n=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE id = '$unc' AND error_code IS NOT NULL AND error_message <> ''")
[[ $n == 1 ]] || fail "the unconfirmed row does not say why"

e2e_finish
pass "Facebook: each error class from the sandbox to the row's status and reason"
