#!/usr/bin/env bash
# The urgent lane (README "Urgent lane"): a backlog of 2,000 normal posts for
# one platform, sandbox latency 100 ms, then urgent posts.
#
#   1. latency: urgent posts created one by one through POST /v1/posts
#      ("priority": "urgent") each reach the sandbox within 1 s of the
#      request (its send time here vs the sandbox's accepted_at_ms, which is
#      taken after the 100 ms latency), while at least 500 normal posts
#      still wait and the normal backlog fills the stream;
#   2. share: 300 urgent posts at once (`autopostctl import`, "priority":
#      "urgent") are more than the lane can take, so urgent jobs wait in the
#      publisher; while they do, normal posts keep publisher.normal_share
#      (0.2) of the slots: counted from the sandbox's record, the normal
#      posts accepted between the first and the last of those urgent ones;
#   3. exactly once: every post published, each once on the sandbox.
# The topology is checked as an operator sees it (/jsz, what `nats consumer
# info` reads): a durable consumer per lane, filtered to its subject; and
# `autopostctl status` shows the urgent lane's lag while the burst waits.
source "$(dirname "$0")/lib.sh"

CONCURRENCY=5
NORMAL=2000
LATENCY_URGENT=10
BURST=300
SHARE=0.2

e2e_begin --latency-ms 100
API_PORT=$(stack_free_port) || fail "no free port"
METRICS_PORT=$(stack_free_port) || fail "no free port"
# Admission caps above the backlog: the whole backlog goes into the stream
# (the scheduler claims 500 a tick), so urgent jobs are published behind
# thousands of normal ones, as the lane has to handle.
SVC_CONCURRENCY=$CONCURRENCY svc_config "api:
  http_port: $API_PORT
  rate_limit_per_second: 1000
  rate_limit_burst: 1000"
sed -i "s/^scheduler:\$/scheduler:\n  max_queued_per_account: 10000\n  max_queued_per_tenant: 10000/" \
    "$AUTOPOST_CONFIG"
sed -i "s/^publisher:\$/publisher:\n  normal_share: $SHARE/" "$AUTOPOST_CONFIG"
grep -q "normal_share: $SHARE" "$AUTOPOST_CONFIG" || fail "config edit failed"
svc_ctl streams apply >/dev/null || fail "streams apply failed"

# ---- topology as the nats CLI shows it ----------------------------------------
consumers=$(curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/jsz?streams=true&consumers=true&config=true" |
    jq -r '.account_details[]?.stream_detail[]? | select(.name == "AUTOPOST_JOBS")
           | .consumer_detail[]? | "\(.name)=\(.config.filter_subject)"' | LC_ALL=C sort | paste -sd' ')
[[ $consumers == "publisher-facebook-urgent=autopost.jobs.facebook.urgent publisher-facebook=autopost.jobs.facebook" ]] ||
    fail "AUTOPOST_JOBS consumers: '$consumers'"
pass "topology: one durable consumer per lane ($consumers)"

# ---- tenant, key, accounts -----------------------------------------------------
TENANT=$(svc_ctl tenants add --name urgent-co | awk '{print $NF}')
KEY=$(svc_ctl api-keys create --tenant "$TENANT" --name main | awk '{print $NF}')
[[ $KEY =~ ^apk_ ]] || fail "no API key: '$KEY'"
NORMAL_ACCOUNTS=()
for n in 1 2 3 4; do
    NORMAL_ACCOUNTS+=("$(svc_ctl accounts add --tenant "$TENANT" --platform facebook \
        --external-id "81000$n" --token "normal-$n")")
done
URGENT_ACCOUNT=$(svc_ctl accounts add --tenant "$TENANT" --platform facebook \
    --external-id 819999 --token urgent-token)

# 2,000 normal posts, due now, spread over four pages.
for ((n = 1; n <= NORMAL; n++)); do
    printf '{"account_id":"%s","at":"now","text":"normal %d"}\n' "${NORMAL_ACCOUNTS[n % 4]}" "$n"
done >"$STACK_DIR/normal.jsonl"
svc_ctl import "$STACK_DIR/normal.jsonl" >/dev/null || fail "import normal posts"

# The API as deployed: a login in autopost_api (0011), so the priority column
# is writable with the grants it has.
stack_psql -c "CREATE ROLE api_login LOGIN IN ROLE autopost_api" >/dev/null
API_DSN=$(sed 's/user=[^ ]*/user=api_login/' <<<"$AUTOPOST_POSTGRES_DSN")
API_CONFIG=$STACK_DIR/api.yaml
{ cat "$AUTOPOST_CONFIG"; printf 'service:\n  http_port: %s\n' "$METRICS_PORT"; } >"$API_CONFIG"
AUTOPOST_CONFIG=$API_CONFIG AUTOPOST_POSTGRES_DSN=$API_DSN svc_start api
API=http://127.0.0.1:$API_PORT
stack_wait_for curl -fsS -o /dev/null "$API/v1/openapi.json" >/dev/null || fail "the API did not start"

# The API refuses a lane it does not know, and urgent recurring posts.
code=$(curl -sS -o "$STACK_DIR/bad.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' \
    --data-binary "{\"account_ids\":[\"$URGENT_ACCOUNT\"],\"text\":\"x\",\"priority\":\"asap\"}" \
    "$API/v1/posts")
[[ $code == 422 && $(jq -r '.error.details[0].field' "$STACK_DIR/bad.json") == priority ]] ||
    fail "priority asap: HTTP $code $(cat "$STACK_DIR/bad.json")"

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook

normal_published() {
    stack_psql -c "SELECT count(*) FROM post_schedules
                    WHERE status = 'published' AND priority = 'normal'"
}
# Steady state: the backlog is in the stream and the publisher is busy.
for ((i = 0; i < 300; i++)); do
    in_stream=$(jsz_stream_messages AUTOPOST_JOBS)
    [[ $(normal_published) -ge 50 && ${in_stream:-0} -ge 1500 ]] && break
    sleep 0.1
done
[[ $(normal_published) -ge 50 ]] || fail "the normal backlog did not start publishing"
[[ ${in_stream:-0} -ge 1500 ]] || fail "only ${in_stream:-0} normal jobs in the stream when the urgent posts came"
echo "urgent phase starts: $in_stream jobs in AUTOPOST_JOBS, $(normal_published) normal published ($(date -u +%T.%N))"

# ---- 1. latency ----------------------------------------------------------------
: >"$STACK_DIR/urgent_sent.tsv"
for ((k = 1; k <= LATENCY_URGENT; k++)); do
    sent=$(date +%s%3N)
    code=$(curl -sS -o "$STACK_DIR/urgent.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' \
        --data-binary "{\"account_ids\":[\"$URGENT_ACCOUNT\"],\"text\":\"urgent $k\",\"priority\":\"urgent\"}" \
        "$API/v1/posts")
    [[ $code == 201 ]] || fail "POST /v1/posts urgent: HTTP $code $(cat "$STACK_DIR/urgent.json")"
    [[ $(jq -r '.priority, .schedules[0].priority' "$STACK_DIR/urgent.json" | sort -u) == urgent ]] ||
        fail "the answer does not say urgent (post and schedule)"
    printf 'urgent %d\t%s\n' "$k" "$sent" >>"$STACK_DIR/urgent_sent.tsv"
done
# Wait for them (the check below is on timestamps, not on this wait).
for ((i = 0; i < 100; i++)); do
    n=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE priority = 'urgent' AND status = 'published'")
    [[ $n -ge $LATENCY_URGENT ]] && break
    sleep 0.1
done
# Reads say the lane too: the schedule and its post's schedules.
sid=$(jq -r '.schedules[0].id' "$STACK_DIR/urgent.json")
pid=$(jq -r '.id' "$STACK_DIR/urgent.json")
[[ $(curl -fsS -H "Authorization: Bearer $KEY" "$API/v1/schedules/$sid" | jq -r .priority) == urgent &&
    $(curl -fsS -H "Authorization: Bearer $KEY" "$API/v1/posts/$pid" | jq -r '.schedules[0].priority') == urgent ]] ||
    fail "GET /v1/schedules/{id} or GET /v1/posts/{id} does not say urgent"
waiting_after_1=$((NORMAL - $(normal_published)))
echo "latency phase over: $waiting_after_1 normal posts waiting ($(date -u +%T.%N))"
[[ $waiting_after_1 -ge 500 ]] ||
    fail "only $waiting_after_1 normal posts were still waiting after the latency phase (need 500)"

report_load_sandbox
stack_psql -c "CREATE TABLE urgent_sent (message text, sent_ms bigint)" \
    -c "\\copy urgent_sent FROM '$STACK_DIR/urgent_sent.tsv'" >/dev/null
read -r n_ok worst <<<"$(stack_psql -F ' ' -c "
  SELECT count(sp.message), max(sp.accepted_at_ms - u.sent_ms)
    FROM urgent_sent u LEFT JOIN sandbox_posts sp ON sp.message = u.message AND sp.page_id = '819999'")"
[[ $n_ok -eq $LATENCY_URGENT ]] || fail "only $n_ok of $LATENCY_URGENT urgent posts reached the sandbox"
stack_psql -c "SELECT u.message, sp.accepted_at_ms - u.sent_ms AS ms
                 FROM urgent_sent u JOIN sandbox_posts sp ON sp.message = u.message
                ORDER BY 2 DESC LIMIT 3" >&2
[[ $worst -le 1000 ]] ||
    fail "an urgent post took $worst ms from its request to the sandbox (bound 1000 ms, 100 ms of it sandbox latency)"
pass "latency: $LATENCY_URGENT urgent posts each reached the sandbox within ${worst} ms of their request (bound 1000), $waiting_after_1 normal posts still waiting"

# ---- 2. share ------------------------------------------------------------------
for ((k = 1; k <= BURST; k++)); do
    printf '{"account_id":"%s","at":"now","text":"burst %d","priority":"urgent"}\n' "$URGENT_ACCOUNT" "$k"
done >"$STACK_DIR/burst.jsonl"
svc_ctl import "$STACK_DIR/burst.jsonl" >/dev/null || fail "import urgent burst"
# The operator's view while the burst waits: `autopostctl status` reads the
# urgent consumer's lag beside the normal one.
for ((i = 0; i < 50; i++)); do
    urgent_lag=$(svc_ctl status --json | jq '.platforms.facebook.urgent_consumer
                                              | .pending + .ack_pending')
    [[ ${urgent_lag:-0} -gt 0 ]] && break
    sleep 0.1
done
[[ ${urgent_lag:-0} -gt 0 ]] || fail "autopostctl status shows no urgent lag during the burst"
svc_ctl status | grep -q '^urgent lane of facebook: ' || fail "autopostctl status text lacks the urgent lane"
for ((i = 0; i < 600; i++)); do
    n=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE priority = 'urgent' AND status = 'published'")
    [[ $n -ge $((LATENCY_URGENT + BURST)) ]] && break
    sleep 0.1
done
[[ $n -ge $((LATENCY_URGENT + BURST)) ]] || fail "the urgent burst did not finish ($n published)"
waiting_after_2=$((NORMAL - $(normal_published)))

report_load_sandbox
# The window: from the burst's first acceptance to its last. Inside it urgent
# jobs were waiting (the burst is 30 times the lane's slots), so the slots
# went urgent-first up to concurrency minus normal's share.
read -r urgent_in normal_in span <<<"$(stack_psql -F ' ' -c "
  WITH w AS (SELECT min(accepted_at_ms) AS a, max(accepted_at_ms) AS b
               FROM sandbox_posts WHERE message LIKE 'burst %')
  SELECT count(*) FILTER (WHERE sp.message LIKE 'burst %'),
         count(*) FILTER (WHERE sp.message LIKE 'normal %'), max(w.b - w.a)
    FROM sandbox_posts sp, w WHERE sp.accepted_at_ms BETWEEN w.a AND w.b")"
total=$((urgent_in + normal_in))
echo "share window ${span} ms: $urgent_in urgent, $normal_in normal accepted; $waiting_after_2 normal still waiting"
[[ $waiting_after_2 -ge 500 ]] ||
    fail "only $waiting_after_2 normal posts were still waiting after the burst: the window was not under backlog"
# Normal keeps its share: 1 of 5 slots, so about 20% of the calls; at least
# 12% allows for the window's edges. Urgent goes first: without the lane the
# burst would have waited behind the backlog and almost no normal post would
# finish inside its window... so check the other side too: urgent took at
# least half of the calls while it waited.
[[ $((normal_in * 100)) -ge $((total * 12)) ]] ||
    fail "normal posts got $normal_in of $total calls while urgent jobs waited (share $SHARE: need >= 12%)"
[[ $((urgent_in * 100)) -ge $((total * 50)) ]] ||
    fail "urgent posts got only $urgent_in of $total calls while they waited"
pass "share: while urgent jobs waited, normal posts got $normal_in of $total calls ($((normal_in * 100 / total))%, share $SHARE)"

# ---- 3. exactly once -------------------------------------------------------------
ALL=$((NORMAL + LATENCY_URGENT + BURST))
svc_wait_terminal "$ALL" 300 || fail "not every post finished"
e2e_finish
[[ $(svc_count_status published) -eq $ALL ]] || fail "not every post published"
report_load_sandbox
read -r posts distinct <<<"$(stack_psql -F ' ' -c "
  SELECT count(*), count(DISTINCT (page_id, message)) FROM sandbox_posts")"
[[ $posts -eq $ALL && $distinct -eq $ALL ]] ||
    fail "sandbox holds $posts posts ($distinct distinct) for $ALL schedules"
pass "urgent lane: $ALL posts published, each exactly once"
