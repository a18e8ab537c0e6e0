#!/usr/bin/env bash
# The per-account rate limit alone, from a cold start (issue 14): accounts
# that have published nothing and have nothing queued get a burst of posts
# due at once, and the platform allows ACCOUNT_LIMIT posts per page per
# WINDOW_S (the sandbox enforces it and answers Graph code 32 beyond it, which
# pauses the page for a minute). No app limit is configured and the admission
# cap is far above the backlog, so only the account limit can hold the burst
# back: test_rate_limits.sh missed the bug because its app limit bound first.
#
# What must hold, per page, from the sandbox's record:
#   - the platform refused nothing (no code 32) and every post took one attempt;
#   - the first window holds exactly ACCOUNT_LIMIT posts;
#   - post k + ACCOUNT_LIMIT goes out at least WINDOW_S after post k (the limit)
#     and at most SLACK_MS later than that: each slot is used when it opens,
#     not after the minute's pause that a refused call costs.
# Two rounds, each on accounts of its own (cold), each able to hand a cold
# account more than ACCOUNT_LIMIT posts in one claim if the limit failed:
#   1. 4 accounts x 12 posts, batch 500: the claim's normal path (its window
#      of 4 batches is not full);
#   2. 2 accounts x 25 posts, batch 12: the window (48 rows) is full of rows
#      of accounts with more due posts than free slots, so the claim ranks
#      every due row (the "crowded" fallback); round-robin over 2 accounts
#      would give each 6 of a batch of 12 without the limit.
source "$(dirname "$0")/lib.sh"

ACCOUNT_LIMIT=5 WINDOW_S=4
# A slot opens when a post leaves the window; the next scheduler tick (200 ms)
# claims the waiting post and it reaches the platform one job later. The slack
# allows a loaded 2-core machine running sanitizer builds; a refused call
# costs a 60 s pause, far beyond it.
SLACK_MS=2500

e2e_begin --latency-ms 20 --page-rate-limit "$ACCOUNT_LIMIT" --rate-window-ms $((WINDOW_S * 1000))
svc_config "    account_limit: $ACCOUNT_LIMIT
    account_window: ${WINDOW_S}s"
# The admission cap must not be what holds the burst back.
sed -i "s/^scheduler:\$/scheduler:\n  max_queued_per_account: 1000/" "$AUTOPOST_CONFIG"

# round_seed ROUND: ACCOUNTS fresh Facebook pages with POSTS posts each, all
# due in two seconds; their page ids go to round<N>/pages.txt.
round_seed() {
    local round=$1 dir=$STACK_DIR/round$1 a n ext at
    mkdir -p "$dir"
    : >"$dir/accounts.jsonl"
    for ((a = 1; a <= ACCOUNTS; a++)); do
        ext=$((300000 + round * 1000 + a))
        printf '{"platform":"facebook","external_id":"%s","token":"cold-r%d-a%d","name":"cold %d"}\n' \
            "$ext" "$round" "$a" "$ext" >>"$dir/accounts.jsonl"
        echo "$ext" >>"$dir/pages.txt"
    done
    svc_ctl accounts import "$dir/accounts.jsonl" >"$dir/account_ids.txt" || return 1
    at=$(rfc3339_in 2)
    : >"$dir/schedules.jsonl"
    while read -r id; do
        for ((n = 1; n <= POSTS; n++)); do
            printf '{"account_id":"%s","at":"%s","text":"Cold round %d post %d of %s"}\n' \
                "$id" "$at" "$round" "$n" "$id" >>"$dir/schedules.jsonl"
        done
    done <"$dir/account_ids.txt"
    svc_ctl import "$dir/schedules.jsonl" >/dev/null || return 1
}

# round_check ROUND: the per-page figures of one round from the sandbox record.
round_check() {
    local round=$1 pages first gaps n min_gap max_gap
    pages=$(sed "s/.*/'&'/" "$STACK_DIR/round$round/pages.txt" | paste -sd,)
    report_load_sandbox
    first=$(stack_psql -c "
      WITH o AS (SELECT page_id, accepted_at_ms AS t FROM sandbox_posts WHERE page_id IN ($pages))
      SELECT min(n), max(n) FROM (
        SELECT a.page_id, count(*) AS n FROM o a JOIN (SELECT page_id, min(t) AS t0 FROM o GROUP BY 1) f
            ON f.page_id = a.page_id AND a.t < f.t0 + $((WINDOW_S * 1000)) GROUP BY 1) w")
    gaps=$(stack_psql -c "
      WITH o AS (SELECT page_id, accepted_at_ms AS t,
                        row_number() OVER (PARTITION BY page_id ORDER BY accepted_at_ms, post_id) AS rn
                   FROM sandbox_posts WHERE page_id IN ($pages))
      SELECT count(*), min(b.t - a.t), max(b.t - a.t)
        FROM o a JOIN o b ON b.page_id = a.page_id AND b.rn = a.rn + $ACCOUNT_LIMIT")
    IFS='|' read -r n min_gap max_gap <<<"$gaps"
    echo "round $round: first window per page ${first/|/..} posts (limit $ACCOUNT_LIMIT);" \
        "post k+$ACCOUNT_LIMIT after post k: ${min_gap}..${max_gap} ms over $n pairs" \
        "(window $((WINDOW_S * 1000)) ms, slack $SLACK_MS ms)"
    [[ $first == "$ACCOUNT_LIMIT|$ACCOUNT_LIMIT" ]] ||
        fail "round $round: a page's first window held ${first/|/..} posts, not $ACCOUNT_LIMIT"
    [[ $n -eq $((ACCOUNTS * (POSTS - ACCOUNT_LIMIT))) ]] ||
        fail "round $round: $n later posts, expected $((ACCOUNTS * (POSTS - ACCOUNT_LIMIT)))"
    [[ $min_gap -ge $((WINDOW_S * 1000)) ]] ||
        fail "round $round: account limit broken: post k+$ACCOUNT_LIMIT only $min_gap ms after post k"
    [[ $max_gap -le $((WINDOW_S * 1000 + SLACK_MS)) ]] ||
        fail "round $round: a slot was not used when it opened: post k+$ACCOUNT_LIMIT $max_gap ms after post k"
}

# refused: publishing calls the sandbox refused over its page limit (code 32).
refused() { sandbox_get /_sandbox/stats | grep -o '"32":[0-9]*' | cut -d: -f2 | grep . || echo 0; }

svc_start dispatcher
svc_start publisher-facebook@1
svc_start publisher-facebook@2
total=0
for round in 1 2; do
    case $round in
    1) ACCOUNTS=4 POSTS=12 batch=500 ;;
    2) ACCOUNTS=2 POSTS=25 batch=12 ;;
    esac
    sed -i "/^scheduler:/,/^[a-z]/ s/batch_size: [0-9]*/batch_size: $batch/" "$AUTOPOST_CONFIG"
    svc_start "scheduler@a$round"
    svc_start "scheduler@b$round"
    round_seed "$round" || fail "round $round: seeding failed"
    total=$((total + ACCOUNTS * POSTS))
    # At the limit a round takes (POSTS / ACCOUNT_LIMIT - 1) windows, 8-16 s;
    # a refused call pauses the page for 60 s.
    svc_wait_terminal "$total" 45 ||
        fail "round $round: not all schedules finished in 45 s; the platform refused $(refused) calls (code 32)"
    [[ $(refused) -eq 0 ]] || fail "round $round: the platform refused $(refused) calls over its page limit"
    svc_kill "scheduler@a$round" TERM || fail "scheduler@a$round did not exit cleanly"
    svc_kill "scheduler@b$round" TERM || fail "scheduler@b$round did not exit cleanly"
    round_check "$round"
done

check_exactly_once "$total" || fail "exactly-once check"
attempts=$(stack_psql -c "SELECT max(attempts) FROM post_schedules")
[[ $attempts -eq 1 ]] || fail "a post took $attempts attempts"
deferred=$(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE event = 'deferred'")
[[ $deferred -eq 0 ]] || fail "$deferred posts were deferred by the platform"

e2e_finish
pass "cold account: the per-account limit held the first burst and each slot was used when it opened"
