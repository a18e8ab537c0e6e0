#!/usr/bin/env bash
# Threads end to end, one schedule per error class: sandbox -> adapter ->
# result -> row status, error class and reason, with the sandbox never
# holding more than one post per schedule.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapter_checks.sh"

export SVC_PLATFORMS="threads" SVC_TIMEOUT=3s SVC_MAX_ATTEMPTS=8 SVC_BACKOFF_MAX=1s
e2e_begin --container-ready-ms 300
P=threads
add() { svc_ctl accounts add --platform $P --external-id "$1" --token "$2"; }
ok=$(add 2500000000000001 good-th-token)
expired=$(add 2500000000000002 expired-th-token)
flaky=$(add 2500000000000003 good-th-token-2)
hang=$(add 2500000000000004 good-th-token-3)
quota=$(add 2500000000000005 good-th-token-4)

svc_start scheduler
svc_start dispatcher
svc_start publisher-threads

# --- success of every kind, reauth and permanent, all at once -------------
# 500 characters with Vietnamese tone marks: the longest text Threads takes.
long_text=$(printf 'Tiếng Việt có dấu%.0s' {1..29})$(printf 'ệ%.0s' {1..7})
text=$(ac_schedule "$ok" "$long_text")
image=$(ac_schedule "$ok" "an image" --media https://cdn.example/a.jpg)
video=$(ac_schedule "$ok" "a video" --media https://cdn.example/a.mp4 --media-type video)
carousel=$(ac_schedule "$ok" "a carousel" --media https://cdn.example/1.jpg \
    --media https://cdn.example/2.jpg)
reauth=$(ac_schedule "$expired" "token expired")
broken=$(ac_schedule "$ok" "media that fails" --media https://cdn.example/error-video.mp4 \
    --media-type video)
for id in "$text" "$image" "$video" "$carousel" "$reauth" "$broken"; do
    ac_wait "$id" 60 published failed unconfirmed || fail "schedule $id did not finish"
done
ac_expect "$text" published "" ""
ac_expect "$image" published "" ""
ac_expect "$video" published "" ""
ac_expect "$carousel" published "" ""
ac_expect "$reauth" failed reauth "reconnect the account"
ac_expect "$broken" failed permanent "could not process the media"
[[ $(ac_kinds $P 2500000000000001) == "carousel image text video" ]] ||
    fail "sandbox kinds: $(ac_kinds $P 2500000000000001)"
[[ $(ac_posts $P 2500000000000002) -eq 0 ]] || fail "the reauth schedule left a post"
sandbox_get "/_sandbox/posts?platform=$P" | jq -e --arg t "$long_text" \
    '[.posts[] | select(.message == $t)] | length == 1' >/dev/null ||
    fail "the 500-character text did not arrive intact"

# --- retry: every write answers 5xx until the first attempt is reported ----
ac_knobs '{"error_rate_5xx":1}'
retry=$(ac_schedule "$flaky" "published after a 5xx")
ac_wait "$retry" 30 retrying || fail "the 5xx did not make the schedule retry"
ac_knobs '{"error_rate_5xx":0}'
ac_wait "$retry" 60 published failed unconfirmed || fail "the retried schedule did not finish"
ac_expect "$retry" published "" ""
(($(ac_attempts "$retry") >= 2)) || fail "retry: published in $(ac_attempts "$retry") attempt(s)"
[[ $(ac_posts $P 2500000000000003) -eq 1 ]] || fail "retry: sandbox has $(ac_posts $P 2500000000000003) posts"

# --- ambiguous: threads_publish accepted, never answered; its container's status says it is live --
ac_knobs '{"hang_rate":1}'
lost=$(ac_schedule "$hang" "the answer to this one is lost")
ac_wait "$lost" 90 published failed unconfirmed || fail "the hung publish did not finish"
ac_knobs '{"hang_rate":0}'
ac_expect "$lost" published "" ""
[[ $(ac_posts $P 2500000000000004) -eq 1 ]] || fail "hang: posted $(ac_posts $P 2500000000000004) times"
# The container's status (PUBLISHED) settles it within the attempt.
[[ $(log_count publisher-threads container_status) -ge 1 ]] || fail "hang: the container's status was not read"

# --- quota: one post per 24 h; the second is deferred (pending, not_before
# set, no attempt used) until the window may have room ---------------------
ac_knobs '{"threads_quota":1}'
q1=$(ac_schedule "$quota" "first of the day")
q2=$(ac_schedule "$quota" "over the quota")
quota_counts() {
    stack_psql -c "SELECT count(*) FILTER (WHERE status = 'published'),
        count(*) FILTER (WHERE status = 'pending' AND not_before > now()
                         AND error_class = 'quota' AND attempts = 0)
        FROM post_schedules WHERE id IN ('$q1','$q2')"
}
quota_settled() { [[ $(quota_counts) == "1|1" ]]; }
stack_wait_for quota_settled >/dev/null || fail "quota: rows $(ac_row "$q1") / $(ac_row "$q2")"
waiting=$(stack_psql -c "SELECT id FROM post_schedules WHERE id IN ('$q1','$q2') AND status = 'pending'")
ac_expect "$waiting" pending quota "publishing"
[[ $(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$waiting'
                    AND event = 'deferred' AND error_class = 'quota'") -ge 1 ]] ||
    fail "quota: no deferred history line"
[[ $(ac_posts $P 2500000000000005) -eq 1 ]] || fail "quota: sandbox has $(ac_posts $P 2500000000000005) posts"

e2e_finish
pass "threads: every error class ends with the right row and at most one post"
