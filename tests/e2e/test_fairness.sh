#!/usr/bin/env bash
# Fairness: one account with 1,500 posts due must not hold back another
# account's single post. The heavy account's posts are due first, so a plain
# oldest-first queue would put the light account's post behind all of them.
#
# The bound the scheduler promises (README "Fairness"): once the light post is
# queued, at most scheduler.max_queued_per_account jobs of any other account
# are ahead of it in the stream, plus the jobs a publisher holds. The test
# counts, from the sandbox's own record, how many heavy posts went out after
# the light post was queued and before it was accepted. It runs once with
# admission off to show the same measurement catches the unfair order.
source "$(dirname "$0")/lib.sh"

CAP=20
CONCURRENCY=4
HELD=$((CONCURRENCY + (CONCURRENCY + 3) / 4)) # jobs a publisher replica holds
HEAVY=1500

e2e_begin --latency-ms 20
SVC_CONCURRENCY=$CONCURRENCY svc_config
# A small claim batch: the claim looks at four batches of the oldest due
# rows of accounts with a free slot, so 1,500 heavy posts fill that window
# many times over and the light post is only found if the heavy account's
# rows are skipped once it is at its cap.
sed -i '/^scheduler:/,/^[a-z]/ s/batch_size: [0-9]*/batch_size: 50/' "$AUTOPOST_CONFIG"

# run_case CAP: seed both accounts, run the pipeline, set WAITED to the
# number of heavy posts accepted while the light post waited in the queue.
run_case() {
    local cap=$1 dir=$STACK_DIR/fair-$1 at light_at heavy light n
    mkdir -p "$dir"
    sed -i "/max_queued_per_account/d; s/^scheduler:\$/scheduler:\n  max_queued_per_account: $cap/" \
        "$AUTOPOST_CONFIG"
    printf '{"platform":"facebook","external_id":"%s","token":"fair-heavy","name":"heavy"}\n{"platform":"facebook","external_id":"%s","token":"fair-light","name":"light"}\n' \
        "$((700000 + cap * 10 + 1))" "$((700000 + cap * 10 + 2))" >"$dir/accounts.jsonl"
    svc_ctl accounts import "$dir/accounts.jsonl" >"$dir/ids.txt" || fail "import accounts"
    heavy=$(sed -n 1p "$dir/ids.txt") light=$(sed -n 2p "$dir/ids.txt")
    at=$(rfc3339_in 2)
    light_at=$(date -u -d "$at + 1 second" +%Y-%m-%dT%H:%M:%SZ)
    : >"$dir/schedules.jsonl"
    for ((n = 1; n <= HEAVY; n++)); do
        printf '{"account_id":"%s","at":"%s","text":"heavy %d cap %d"}\n' "$heavy" "$at" "$n" "$cap"
    done >>"$dir/schedules.jsonl"
    printf '{"account_id":"%s","at":"%s","text":"light cap %d"}\n' "$light" "$light_at" "$cap" \
        >>"$dir/schedules.jsonl"
    svc_ctl import "$dir/schedules.jsonl" >/dev/null || fail "import schedules"

    svc_start scheduler
    svc_start dispatcher
    svc_start publisher-facebook
    svc_wait_terminal "$((HEAVY + 1))" 300 || fail "cap $cap: not all schedules finished"
    svc_stop_all
    [[ $(svc_count_status published) -eq $((HEAVY + 1)) ]] || fail "cap $cap: not all published"

    report_load_sandbox
    # Heavy posts accepted while the light post waited: WAITED counts from
    # its queueing, DELAYED from its due time (so also while it waited to be
    # admitted), both until its acceptance.
    read -r WAITED DELAYED <<<"$(stack_psql -F ' ' -c "
      WITH light AS (
        SELECT (extract(epoch FROM s.queued_at) * 1000)::bigint AS queued_ms,
               (extract(epoch FROM s.scheduled_at) * 1000)::bigint AS due_ms, sp.accepted_at_ms
          FROM post_schedules s JOIN sandbox_posts sp ON sp.post_id = s.external_post_id
         WHERE s.account_id = '$light')
      SELECT count(*) FILTER (WHERE sp.accepted_at_ms > light.queued_ms),
             count(*) FILTER (WHERE sp.accepted_at_ms > light.due_ms)
        FROM sandbox_posts sp, light
       WHERE sp.page_id = '$((700000 + cap * 10 + 1))' AND sp.accepted_at_ms < light.accepted_at_ms")"
    stack_psql -c "TRUNCATE post_schedules, posts, social_accounts CASCADE" >/dev/null
    sandbox_post /_sandbox/reset '{}' >/dev/null || fail "sandbox reset"
}

run_case "$CAP"
fair=$WAITED
echo "admission cap $CAP: $fair heavy posts went out while the light post was queued, $DELAYED after it was due"
# Admission: the light post is claimed at the first tick after it is due,
# however many heavy posts are due before it; in that tick the heavy account
# gets through at most a few cap's worth (bound: 5 x (cap + concurrency)).
# A claim that did not skip the heavy account's rows would leave the light
# post outside its window until the heavy backlog had drained (~1,400).
[[ $DELAYED -le $((5 * (CAP + CONCURRENCY))) ]] ||
    fail "light post was admitted only after $DELAYED heavy posts went out (bound $((5 * (CAP + CONCURRENCY))))"
[[ $fair -le $((CAP + HELD)) ]] ||
    fail "light post waited behind $fair heavy posts (bound $((CAP + HELD)))"

run_case 0
unfair=$WAITED
echo "admission off: $unfair heavy posts went out while the light post was queued"
[[ $unfair -gt $((CAP + HELD)) ]] ||
    fail "the measurement did not see the oldest-first order hold the light post back ($unfair)"

e2e_finish
pass "fairness: a single post waits behind at most $CAP + $HELD posts of a busy account"
