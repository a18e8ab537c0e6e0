#!/usr/bin/env bash
# Waiting for a platform limit is not a failure and burns no attempt, and a
# "slow down" pauses the account for every publisher replica (README "Rate
# limits"). With max_attempts 2:
#   1. Instagram, publishing quota 2, four posts of one account: two are
#      published, the other two go back to pending with not_before set, a
#      `deferred` history line and attempts untouched (one by the quota
#      answer, the other by the pause it left), round after round
#      (more rounds than max_attempts, none fails); the sandbox holds two
#      posts. Once the quota is raised, each of them is published exactly once.
#   2. X, the user's window 2 posts per 5 s, six posts, two publisher
#      replicas with one call each: after the first 429 the account is paused
#      for both replicas until the reset, so the sandbox answers at most one
#      429 per replica per window (a replica that kept calling would meet one
#      per post); every post is published exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapter_checks.sh"

export SVC_PLATFORMS="x instagram" SVC_MAX_ATTEMPTS=2 SVC_CONCURRENCY=1 SVC_BACKOFF_MAX=1s
REPLICAS=2
e2e_begin
# Instagram gives no reset time for its quota: it waits quota_wait (the last
# platform entry takes these lines).
svc_config "    quota_wait: 4s"

deferred_lines() { # ID -> `deferred` history lines of the schedule
    stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$1' AND event = 'deferred'"
}
failed_rows() { stack_psql -c "SELECT count(*) FROM post_schedules WHERE status = 'failed'"; }
errors_429() { sandbox_get /_sandbox/stats | jq '.errors["429"] // 0'; }

svc_start scheduler
svc_start dispatcher

# ---- 1. Instagram: quota reached, deferred round after round ----------------
IG_PAGE=17841000000000077
ig=$(svc_ctl accounts add --platform instagram --external-id $IG_PAGE --token good-ig-token-77)
ac_knobs '{"instagram_quota":2}'
ig_ids=()
for i in 1 2 3 4; do
    ig_ids+=("$(ac_schedule "$ig" "quota post $i" --media "https://cdn.example/q$i.jpg")")
done
ig_list=$(printf "'%s'," "${ig_ids[@]}")
ig_list=${ig_list%,}
svc_start publisher-instagram

ig_counts() {
    stack_psql -c "SELECT count(*) FILTER (WHERE status = 'published') || '|' ||
        count(*) FILTER (WHERE status = 'pending' AND not_before IS NOT NULL AND attempts = 0)
        FROM post_schedules WHERE id IN ($ig_list)"
}
ig_waiting() { [[ $(ig_counts) == "2|2" ]]; }
stack_wait_for ig_waiting >/dev/null || fail "quota: expected 2 published, 2 deferred; rows: $(ig_counts)"
# More rounds than max_attempts: three deferrals of one schedule (each round
# is a new generation, so each adds a line) and still nothing failed.
many_rounds() {
    [[ $(failed_rows) -eq 0 ]] || return 2
    local id
    for id in "${ig_ids[@]}"; do
        (($(deferred_lines "$id") >= 3)) && return 0
    done
    return 1
}
STACK_WAIT_TIMEOUT=90 stack_wait_for many_rounds >/dev/null ||
    fail "quota: no schedule went round three times without failing ($(failed_rows) failed)"
[[ $(ac_posts instagram $IG_PAGE) -eq 2 ]] || fail "quota: the sandbox holds $(ac_posts instagram $IG_PAGE) posts, quota 2"
[[ $(stack_psql -c "SELECT max(attempts) FROM post_schedules WHERE id IN ($ig_list) AND status = 'pending'") -eq 0 ]] ||
    fail "quota: a deferral used up an attempt"
# The scheduler kept to not_before: after a quota answer (a full 4 s wait) the
# next generation was queued no earlier than 3 s later (both times from the
# history; the margin is for the publisher's and the database's clocks).
early=$(stack_psql -c "SELECT count(*) FROM schedule_attempts d JOIN schedule_attempts q
    ON q.schedule_id = d.schedule_id AND q.generation = d.generation + 1 AND q.event = 'queued'
    WHERE d.schedule_id IN ($ig_list) AND d.event = 'deferred' AND d.error_class = 'quota'
      AND q.recorded_at < d.finished_at + interval '3 seconds'")
[[ $early -eq 0 ]] || fail "quota: $early deferred schedules were queued again before their not_before"
waiting=$(stack_psql -c "SELECT id FROM post_schedules WHERE id IN ($ig_list) AND status = 'pending' LIMIT 1")
show=$(svc_ctl show "$waiting") || fail "autopostctl show failed"
# Mid-round the row may be queued for a moment; show says why it waits.
[[ $show == *"publishing"* ]] || fail "show does not give the reason: $show"
echo "quota: 2 published, 2 deferred round after round, no attempt used"

ac_knobs '{"instagram_quota":50}'
ig_done() { [[ $(ig_counts) == 4\|* ]]; }
STACK_WAIT_TIMEOUT=60 stack_wait_for ig_done >/dev/null || fail "quota raised: not all published: $(ig_counts)"
[[ $(ac_posts instagram $IG_PAGE) -eq 4 ]] || fail "quota raised: the sandbox holds $(ac_posts instagram $IG_PAGE) posts"
for i in 1 2 3 4; do
    n=$(sandbox_get "/_sandbox/posts?platform=instagram&page_id=$IG_PAGE" |
        jq --arg t "quota post $i" '[.posts[] | select(.message == $t and .published)] | length')
    [[ $n -eq 1 ]] || fail "quota raised: \"quota post $i\" is on Instagram $n times"
done
[[ $(stack_psql -c "SELECT max(attempts) FROM post_schedules WHERE id IN ($ig_list)") -le 1 ]] ||
    fail "quota raised: a post took more than one attempt"
echo "quota raised: every post published exactly once"

# not_before alone holds a schedule back (no account pause involved): of two
# posts due at the same moment, the one with not_before an hour out stays
# pending while the other is published.
at=$(rfc3339_in 3)
held=$(svc_ctl schedule --account "$ig" --at "$at" --text "held back" --media https://cdn.example/h.jpg)
free=$(svc_ctl schedule --account "$ig" --at "$at" --text "not held" --media https://cdn.example/n.jpg)
stack_psql -c "UPDATE post_schedules SET not_before = now() + interval '1 hour' WHERE id = '$held'" >/dev/null
ac_wait "$free" 60 published || fail "not_before: the other post was not published"
[[ $(ac_row "$held") == pending* && $(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$held'") -eq 0 ]] ||
    fail "not_before: a schedule waiting for its not_before was claimed: $(ac_row "$held")"

# ---- 2. X: a 429 pauses the account for both replicas --------------------------
x_user() { curl -fsS -H "Authorization: Bearer $1" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id; }
X_TOKEN=x-pause-token
X_USER=$(x_user $X_TOKEN)
[[ -n $X_USER && $X_USER != null ]] || fail "no X user id from the sandbox"
xa=$(svc_ctl accounts add --platform x --external-id "$X_USER" --token $X_TOKEN)
sandbox_post /_sandbox/config '{"x_user_post_limit":2,"x_user_window_ms":5000}' >/dev/null ||
    fail "sandbox config"
before=$(errors_429)
x_ids=()
for i in 1 2 3 4 5 6; do x_ids+=("$(svc_ctl schedule --account "$xa" --at now --text "pause post $i")"); done
x_list=$(printf "'%s'," "${x_ids[@]}")
x_list=${x_list%,}
# All six on the bus first: what holds them back is the publishers' shared
# pause, not the scheduler (which stops admitting a paused account's posts).
x_queued() { [[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE id IN ($x_list) AND status = 'queued'") -eq 6 ]]; }
stack_wait_for x_queued >/dev/null || fail "X: the six posts were not queued"
for r in $(seq 1 $REPLICAS); do svc_start "publisher-x@$r"; done

# First window: two published, the other four deferred (by the 429 or, with
# no call at all, by the pause).
x_first_window() {
    [[ $(stack_psql -c "SELECT count(*) FILTER (WHERE status = 'published') || '|' ||
        count(*) FILTER (WHERE status <> 'published' AND EXISTS (SELECT 1 FROM schedule_attempts h
                         WHERE h.schedule_id = s.id AND h.event = 'deferred'))
        FROM post_schedules s WHERE id IN ($x_list)") == "2|4" ]]
}
stack_wait_for x_first_window >/dev/null || fail "X: the first window did not settle as 2 published, 4 deferred"
first=$(($(errors_429) - before))
echo "X: 429 answers in the first window: $first (at most one per replica)"
((first >= 1)) || fail "X: the sandbox never refused: the test saw no limit"
((first <= REPLICAS)) || fail "X: $first 429 answers in one window: replicas kept calling a paused account"
paused=$(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id IN ($x_list)
                        AND event = 'deferred' AND error_code = 'account_paused' AND http_status IS NULL")
((paused >= 1)) || fail "X: no job was deferred by the pause without a call"

x_all() { [[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE id IN ($x_list) AND status = 'published'") -eq 6 ]]; }
STACK_WAIT_TIMEOUT=90 stack_wait_for x_all >/dev/null ||
    fail "X: not all published: $(stack_psql -c "SELECT status, count(*) FROM post_schedules WHERE id IN ($x_list) GROUP BY 1")"
total=$(($(errors_429) - before))
# Three windows for six posts: at most one 429 per replica at each of the two
# window boundaries.
echo "X: 429 answers in all: $total"
((total <= 2 * REPLICAS)) || fail "X: $total 429 answers for three windows"
for i in 1 2 3 4 5 6; do
    n=$(sandbox_get "/_sandbox/posts?platform=x&page_id=$X_USER" |
        jq --arg t "pause post $i" '[.posts[] | select(.message == $t)] | length')
    [[ $n -eq 1 ]] || fail "X: \"pause post $i\" is on X $n times"
done
[[ $(failed_rows) -eq 0 ]] || fail "X: $(failed_rows) schedules failed"
[[ $(stack_psql -c "SELECT max(attempts) FROM post_schedules WHERE id IN ($x_list)") -le 1 ]] ||
    fail "X: a rate-limited post used more than one attempt"

e2e_finish
pass "limits defer without using attempts; a 429 pauses the account for every replica"
