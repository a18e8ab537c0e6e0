#!/usr/bin/env bash
# Instagram end to end, one schedule per error class: sandbox -> adapter ->
# result -> row status, error class and reason, with the sandbox never
# holding more than one post per schedule.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapter_checks.sh"

export SVC_PLATFORMS="instagram" SVC_TIMEOUT=3s SVC_MAX_ATTEMPTS=8 SVC_BACKOFF_MAX=1s
e2e_begin --container-ready-ms 300
P=instagram
add() { svc_ctl accounts add --platform $P --external-id "$1" --token "$2"; }
ok=$(add 17841000000000001 good-ig-token)
expired=$(add 17841000000000002 expired-ig-token)
noperm=$(add 17841000000000003 noperm-ig-token)
flaky=$(add 17841000000000004 good-ig-token-2)
hang=$(add 17841000000000005 good-ig-token-3)
quota=$(add 17841000000000006 good-ig-token-4)

svc_start scheduler
svc_start dispatcher
svc_start publisher-instagram

# --- success of every kind, reauth and permanent, all at once -------------
image=$(ac_schedule "$ok" "an image #e2e" --media https://cdn.example/a.jpg)
reel=$(ac_schedule "$ok" "a reel" --media https://cdn.example/a.mp4 --media-type video)
carousel=$(ac_schedule "$ok" "a carousel" --media https://cdn.example/1.jpg \
    --media https://cdn.example/2.jpg --media https://cdn.example/3.jpg)
reauth=$(ac_schedule "$expired" "token expired" --media https://cdn.example/b.jpg)
denied=$(ac_schedule "$noperm" "no permission" --media https://cdn.example/c.jpg)
broken=$(ac_schedule "$ok" "media that fails" --media https://cdn.example/error-photo.jpg)
for id in "$image" "$reel" "$carousel" "$reauth" "$denied" "$broken"; do
    ac_wait "$id" 60 published failed unconfirmed || fail "schedule $id did not finish"
done
ac_expect "$image" published "" ""
ac_expect "$reel" published "" ""
ac_expect "$carousel" published "" ""
ac_expect "$reauth" failed reauth "reconnect the account"
ac_expect "$denied" failed permanent "missing permission"
ac_expect "$broken" failed permanent "could not process the media"
[[ $(ac_kinds $P 17841000000000001) == "carousel image reel" ]] ||
    fail "sandbox kinds: $(ac_kinds $P 17841000000000001)"
for page in 17841000000000002 17841000000000003; do
    [[ $(ac_posts $P $page) -eq 0 ]] || fail "a failed schedule left a post on $page"
done
external=$(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$image'")
sandbox_get "/_sandbox/posts?platform=$P" | jq -e --arg id "$external" \
    '[.posts[] | select(.id == $id and .kind == "image" and .published)] | length == 1' \
    >/dev/null || fail "published id $external is not the sandbox's image post"

# --- retry: every write answers 5xx until the first attempt is reported ----
ac_knobs '{"error_rate_5xx":1}'
retry=$(ac_schedule "$flaky" "published after a 5xx" --media https://cdn.example/d.jpg)
ac_wait "$retry" 30 retrying || fail "the 5xx did not make the schedule retry"
ac_knobs '{"error_rate_5xx":0}'
ac_wait "$retry" 60 published failed unconfirmed || fail "the retried schedule did not finish"
ac_expect "$retry" published "" ""
(($(ac_attempts "$retry") >= 2)) || fail "retry: published in $(ac_attempts "$retry") attempt(s)"
[[ $(ac_posts $P 17841000000000004) -eq 1 ]] || fail "retry: sandbox has $(ac_posts $P 17841000000000004) posts"

# --- ambiguous: media_publish accepted, never answered; its container's status says it is live ----
ac_knobs '{"hang_rate":1}'
lost=$(ac_schedule "$hang" "the answer to this one is lost" --media https://cdn.example/e.jpg)
ac_wait "$lost" 90 published failed unconfirmed || fail "the hung publish did not finish"
ac_knobs '{"hang_rate":0}'
ac_expect "$lost" published "" ""
[[ $(ac_posts $P 17841000000000005) -eq 1 ]] || fail "hang: posted $(ac_posts $P 17841000000000005) times"
sandbox_get "/_sandbox/posts?platform=$P&page_id=17841000000000005" | jq -e '.posts[0].hung' \
    >/dev/null || fail "hang: the sandbox did not hold the publish"
# The container's status (PUBLISHED) settles it within the attempt.
[[ $(log_count publisher-instagram container_status) -ge 1 ]] || fail "hang: the container's status was not read"

# --- quota: one post per 24 h; the second is deferred (pending, not_before
# set, no attempt used) until the window may have room ---------------------
ac_knobs '{"instagram_quota":1}'
q1=$(ac_schedule "$quota" "first of the day" --media https://cdn.example/f.jpg)
q2=$(ac_schedule "$quota" "over the quota" --media https://cdn.example/g.jpg)
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
[[ $(ac_posts $P 17841000000000006) -eq 1 ]] || fail "quota: sandbox has $(ac_posts $P 17841000000000006) posts"

e2e_finish
pass "instagram: every error class ends with the right row and at most one post"
