#!/usr/bin/env bash
# One account's posts go out in the order they were scheduled when nothing
# else decides otherwise. With concurrency 1 the publisher still holds a
# second job, fetched ahead (README "Architecture"); it must start the
# oldest held job first, so the platform sees the posts in scheduled order.
source "$(dirname "$0")/lib.sh"

POSTS=30

e2e_begin --latency-ms 20
SVC_CONCURRENCY=1 svc_config
dir=$STACK_DIR/order
mkdir -p "$dir"
printf '{"platform":"facebook","external_id":"880001","token":"order-token","name":"order"}\n' \
    >"$dir/accounts.jsonl"
svc_ctl accounts import "$dir/accounts.jsonl" >"$dir/ids.txt" || fail "import account"
account=$(sed -n 1p "$dir/ids.txt")
# All due within 0.3 s of each other, 10 ms apart: they are claimed together.
base=$(($(date +%s) + 3))
: >"$dir/schedules.jsonl"
for ((n = 1; n <= POSTS; n++)); do
    at=$(date -u -d "@$base" +%Y-%m-%dT%H:%M:%S).$(printf '%03d' $((n * 10)))Z
    printf '{"account_id":"%s","at":"%s","text":"order %d"}\n' "$account" "$at" "$n"
done >>"$dir/schedules.jsonl"
svc_ctl import "$dir/schedules.jsonl" >/dev/null || fail "import schedules"

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook
svc_wait_terminal "$POSTS" 120 || fail "not every schedule finished"
[[ $(svc_count_status published) -eq $POSTS ]] || fail "not every schedule was published"

report_load_sandbox
# The sandbox's acceptance order, as post numbers (calls run one at a time,
# 20 ms each, so no two share a millisecond).
got=$(stack_psql -c "SELECT string_agg(substr(message, 7), ' ' ORDER BY accepted_at_ms, post_id)
                       FROM sandbox_posts WHERE page_id = '880001'")
want=$(seq -s ' ' 1 "$POSTS")
echo "accepted in order: $got"
[[ $got == "$want" ]] || fail "posts went out as [$got], scheduled as [$want]"
e2e_finish
pass "one account's $POSTS posts reached the platform in scheduled order"
