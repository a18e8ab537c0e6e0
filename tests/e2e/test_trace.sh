#!/usr/bin/env bash
# One trace id end to end (issue 19, README "Tracing"): a W3C traceparent
# given to POST /v1/posts keeps its trace id
#   - in the API's log line for the request and in post_schedules.traceparent
#     (with the API's own span id),
#   - on the job message in AUTOPOST_JOBS (read with a raw
#     $JS.API.STREAM.MSG.GET before any publisher runs: the stream is a work
#     queue), with the scheduler's own span id,
#   - on every publisher and dispatcher log line about the schedule,
#   - on the webhook delivery of its schedule.published event, with the
#     webhooks service's own span id,
#   - in GET /v1/posts/{id} and `autopostctl show`.
# A post without traceparent gets a new valid trace; an invalid header (zero
# trace id, uppercase, version ff, two headers) is replaced by a new trace
# and the request still succeeds. A row inserted without one (an occurrence,
# autopostctl) gets one from the column default.
source "$(dirname "$0")/lib.sh"
source "$AUTOPOST_SRC/tests/fixtures/api_test.sh"

SVC_PLATFORMS="x"
e2e_begin
RECV_BIN=$AUTOPOST_BIN/../tests/webhook_receiver
[[ -x $RECV_BIN ]] || fail "missing $RECV_BIN (build the tests)"
api_test_config "webhooks:
  allow_private: true
  retry_initial: 100ms
  retry_max: 400ms"
TP_RE='^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'

api_test_tenant tracer
T=$TENANT
XU=$(curl -fsS -H "Authorization: Bearer x-good-token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
XA=$(svc_ctl accounts add --platform x --external-id "$XU" --token x-good-token)
stack_psql -c "UPDATE social_accounts SET tenant_id = '$T' WHERE id = '$XA'" >/dev/null

# The API as deployed: a login user in autopost_api (0011, 0025's grants).
api_test_start trace_api

RECV=$STACK_DIR/recv
mkdir -p "$RECV"
"$RECV_BIN" "$RECV.port" "$RECV" "200" >>"$STACK_DIR/logs/recv.log" 2>&1 &
stack_register_pid $!
stack_wait_for test -s "$RECV.port" >/dev/null || fail "the webhook receiver did not start"
svc_ctl webhooks add --tenant "$T" --url "http://127.0.0.1:$(cat "$RECV.port")/hook" \
    --events schedule.published >/dev/null || fail "webhooks add"

# post TEXT [CURL ARGS...]: POST /v1/posts for the x account; prints the
# schedule id (the request must succeed whatever its traceparent).
post() {
    local text=$1 code
    shift
    code=$(curl -sS -o "$OUT" -w '%{http_code}' -X POST -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' "$@" \
        --data-binary "{\"account_ids\": [\"$XA\"], \"text\": \"$text $$\"}" "$API/v1/posts")
    [[ $code == 201 ]] || fail "POST /v1/posts ($text): HTTP $code: $(head -c 400 "$OUT")"
    jq -r '.schedules[0].id' "$OUT"
}
stored_tp() { stack_psql -c "SELECT traceparent FROM post_schedules WHERE id = '$1'"; }
tid() { cut -d- -f2 <<<"$1"; }
span() { cut -d- -f3 <<<"$1"; }

GIVEN_TRACE=4bf92f3577b34da6a3ce929d0e0e4736
GIVEN_SPAN=00f067aa0ba902b7
S_GIVEN=$(post "traced" -H "traceparent: 00-$GIVEN_TRACE-$GIVEN_SPAN-01")
S_NONE=$(post "untraced")
declare -A BAD=(
    [zero]="00-00000000000000000000000000000000-$GIVEN_SPAN-01"
    [upper]="00-4BF92F3577B34DA6A3CE929D0E0E4736-$GIVEN_SPAN-01"
    [ff]="ff-$GIVEN_TRACE-$GIVEN_SPAN-01"
    [short]="00-$GIVEN_TRACE-00f067aa0ba9-01"
)
declare -A S_BAD=()
for k in "${!BAD[@]}"; do S_BAD[$k]=$(post "bad $k" -H "traceparent: ${BAD[$k]}"); done
S_BAD[two]=$(post "bad two" -H "traceparent: 00-$GIVEN_TRACE-$GIVEN_SPAN-01" \
    -H "traceparent: 00-$GIVEN_TRACE-$GIVEN_SPAN-01")

TP_GIVEN=$(stored_tp "$S_GIVEN")
[[ $TP_GIVEN =~ $TP_RE && $(tid "$TP_GIVEN") == "$GIVEN_TRACE" ]] ||
    fail "the given trace was not stored: '$TP_GIVEN'"
[[ $(span "$TP_GIVEN") != "$GIVEN_SPAN" ]] || fail "the API kept the caller's span id instead of making its own"
[[ ${TP_GIVEN: -2} == 01 ]] || fail "the sampled flag was not kept: $TP_GIVEN"
# log_has LOG JQ_FILTER [JQ ARGS...]: some JSON line of LOG passes the filter
# (logs also hold a library's plain-text lines: those are skipped).
log_has() {
    local log=$1 filter=$2
    shift 2
    [[ -n $(jq -R -c "$@" "fromjson? | select($filter)" "$log") ]]
}
log_has "$STACK_DIR/logs/api.log" '.event == "api_request" and .trace_id == $t and (.msg | test("method=POST"))' \
    --arg t "$GIVEN_TRACE" || fail "the API's log line for the POST lacks trace_id $GIVEN_TRACE"
TP_NONE=$(stored_tp "$S_NONE")
[[ $TP_NONE =~ $TP_RE && $(tid "$TP_NONE") != "$GIVEN_TRACE" && $(tid "$TP_NONE") != "$(printf '0%.0s' {1..32})" ]] ||
    fail "a post without traceparent has no new trace: '$TP_NONE'"
declare -A SEEN=([$(tid "$TP_NONE")]=1 [$(tid "$TP_GIVEN")]=1)
for k in "${!S_BAD[@]}"; do
    tp=$(stored_tp "${S_BAD[$k]}")
    [[ $tp =~ $TP_RE ]] || fail "invalid header ($k): stored '$tp'"
    [[ -z ${SEEN[$(tid "$tp")]:-} ]] || fail "invalid header ($k) was not replaced by a new trace: $tp"
    SEEN[$(tid "$tp")]=1
done
pass "POST /v1/posts: a valid traceparent keeps its trace id (new span); none or invalid (${!BAD[*]} two) starts a new one, never a 4xx"

# ---- the job message: scheduler only, read the work queue before a publisher
svc_start scheduler
queued() { [[ $(svc_count_status queued) -eq $((2 + ${#S_BAD[@]})) ]]; }
stack_wait_for queued >/dev/null || fail "the scheduler did not queue the posts"
# job_headers SCHEDULE: the job message's headers, from $JS.API.STREAM.MSG.GET
# by sequence (no consumer is made, nothing is acked).
job_headers() {
    local seq reply
    for seq in $(seq 1 40); do
        reply=$(nats_req '$JS.API.STREAM.MSG.GET.AUTOPOST_JOBS' "{\"seq\": $seq}")
        [[ $(jq -r '.message.hdrs // empty' <<<"$reply") ]] || continue
        hdrs=$(jq -r '.message.hdrs' <<<"$reply" | base64 -d | tr -d '\r')
        grep -qx "Autopost-Schedule-Id: $1" <<<"$hdrs" && { printf '%s\n' "$hdrs"; return 0; }
    done
    return 1
}
H=$(job_headers "$S_GIVEN") || fail "the job of $S_GIVEN is not in AUTOPOST_JOBS"
JOB_TP=$(sed -n 's/^traceparent: //p' <<<"$H")
[[ $JOB_TP =~ $TP_RE && $(tid "$JOB_TP") == "$GIVEN_TRACE" ]] || fail "job headers lack the trace: $H"
[[ $(span "$JOB_TP") != "$(span "$TP_GIVEN")" && $(span "$JOB_TP") != "$GIVEN_SPAN" ]] ||
    fail "the scheduler did not make its own span: job $JOB_TP, stored $TP_GIVEN"
H=$(job_headers "$S_NONE") || fail "the job of $S_NONE is not in AUTOPOST_JOBS"
[[ $(tid "$(sed -n 's/^traceparent: //p' <<<"$H")") == "$(tid "$TP_NONE")" ]] ||
    fail "the generated trace is not on its job: $H"
pass "job messages carry traceparent: the schedule's trace id, the scheduler's span id"

# ---- publisher, dispatcher (debug: its per-result lines), relay, webhooks
svc_start publisher-x
AUTOPOST_LOG_LEVEL=debug svc_start dispatcher
svc_start webhooks
done_all() { [[ $(svc_count_status published) -eq $((2 + ${#S_BAD[@]})) ]]; }
stack_wait_for done_all >/dev/null ||
    fail "not all published: $(stack_psql -c "SELECT status, error_message FROM post_schedules")"

# lines_about LOG SCHEDULE: every line about the schedule, as "trace_id event".
lines_about() { jq -R -r --arg s "$2" 'fromjson? | select(.schedule_id == $s) | "\(.trace_id // "-") \(.event)"' "$1"; }
for svc in publisher-x dispatcher; do
    for s in "$S_GIVEN" "$S_NONE"; do
        want=$(tid "$(stored_tp "$s")")
        lines=$(lines_about "$STACK_DIR/logs/$svc.log" "$s")
        [[ -n $lines ]] || fail "$svc logged nothing about $s"
        bad=$(awk -v t="$want" '$1 != t' <<<"$lines")
        [[ -z $bad ]] || fail "$svc lines about $s without trace_id $want: $bad"
    done
done
lines_about "$STACK_DIR/logs/publisher-x.log" "$S_GIVEN" | grep -qx "$GIVEN_TRACE job_published" ||
    fail "no job_published line with the trace"
lines_about "$STACK_DIR/logs/dispatcher.log" "$S_GIVEN" | grep -qx "$GIVEN_TRACE result_applied" ||
    fail "no dispatcher result_applied line with the trace"
pass "publisher and dispatcher: every line about the schedule carries its trace_id"

# ---- the webhook delivery ------------------------------------------------------
delivered() {
    local m
    for m in "$RECV"/*.meta; do
        [[ -e $m ]] || continue
        grep -q "^traceparent=00-$GIVEN_TRACE-" "$m" && return 0
    done
    return 1
}
stack_wait_for delivered >/dev/null ||
    fail "no delivery with trace $GIVEN_TRACE: $(cat "$RECV"/*.meta 2>/dev/null | grep traceparent)"
meta=$(grep -l "^traceparent=00-$GIVEN_TRACE-" "$RECV"/*.meta | head -1)
WH_TP=$(sed -n 's/^traceparent=//p' "$meta")
[[ $WH_TP =~ $TP_RE && $(span "$WH_TP") != "$(span "$JOB_TP")" && $(span "$WH_TP") != "$(span "$TP_GIVEN")" ]] ||
    fail "webhook traceparent '$WH_TP' is not a span of its own"
[[ $(jq -r '"\(.type) \(.data.schedule.id) \(.data.schedule.trace_id)"' "${meta%.meta}.body") == \
    "schedule.published $S_GIVEN $GIVEN_TRACE" ]] || fail "the traced delivery is not the schedule's event: $(cat "${meta%.meta}.body")"
log_has "$STACK_DIR/logs/webhooks.log" '.event == "webhook_attempt" and .schedule_id == $s and .trace_id == $t' \
    --arg s "$S_GIVEN" --arg t "$GIVEN_TRACE" || fail "autopost-webhooks' attempt line lacks the trace"
# Every delivery of a traced schedule carries its own schedule's trace.
for m in "$RECV"/*.meta; do
    b=${m%.meta}.body
    want=$(tid "$(stored_tp "$(jq -r .data.schedule.id "$b")")")
    grep -q "^traceparent=00-$want-" "$m" || fail "$m: delivery without its schedule's trace $want"
done
pass "webhook deliveries carry traceparent with the schedule's trace id and their own span"

# ---- GET /v1/posts/{id}, autopostctl show ------------------------------------------
P=$(stack_psql -c "SELECT post_id FROM post_schedules WHERE id = '$S_GIVEN'")
curl -fsS -H "Authorization: Bearer $KEY" "$API/v1/posts/$P" >"$OUT" || fail "GET /v1/posts/$P"
[[ $(jq -r '.schedules[0].trace_id' "$OUT") == "$GIVEN_TRACE" ]] || fail "GET /v1/posts: $(cat "$OUT")"
svc_ctl show "$S_GIVEN" | grep -Eq "^trace_id +$GIVEN_TRACE$" || fail "autopostctl show: $(svc_ctl show "$S_GIVEN")"
[[ $(svc_ctl show "$S_GIVEN" --json | jq -r .trace_id) == "$GIVEN_TRACE" ]] || fail "autopostctl show --json lacks trace_id"
pass "GET /v1/posts/{id} and autopostctl show print the trace id"

# ---- rows made without one (occurrences, autopostctl) get one from the default
tp=$(stack_psql -c "WITH p AS (INSERT INTO posts (text) VALUES ('x') RETURNING id)
    INSERT INTO post_schedules (post_id, account_id, scheduled_at)
    SELECT p.id, '$XA', now() + interval '1 day' FROM p RETURNING traceparent")
[[ $tp =~ $TP_RE && -z ${SEEN[$(tid "$tp")]:-} ]] || fail "a row without traceparent got '$tp'"
stack_psql -c "UPDATE post_schedules SET traceparent = '00-$(printf '0%.0s' {1..32})-$GIVEN_SPAN-01' WHERE id = '$S_NONE'" \
    >/dev/null 2>&1 && fail "a zero trace id was stored"
pass "a schedule stored without a trace gets a new one; a zero trace id is refused"

e2e_finish
