#!/usr/bin/env bash
# The front door end to end (issue 18), driven over HTTP with curl the way an
# application drives it, against the real autopost-api, scheduler,
# publishers (X and Facebook), dispatcher (outbox relay), autopost-webhooks,
# the sandbox, nats-server and PostgreSQL:
#   1. two tenants with keys and several accounts each (autopostctl);
#   2. each tenant's webhook (POST /v1/webhooks) points at a receiver
#      (tests/tools/webhook_receiver) that fails every event's first
#      deliveries: 5xx and a hang past webhooks.timeout;
#   3. posts created with Idempotency-Key and replayed (same bytes, same
#      ids, nothing more stored), the same key with another body refused,
#      422 cases naming field and reason with nothing stored, 401 for a
#      missing, unknown and revoked key, 404 for the other tenant's post,
#      schedule and webhook;
#   4. then every schedule the API created is published once, its
#      schedule.published event reaches its own tenant's receiver at least
#      once and with one event id, after the failures, signed with the
#      tenant's secret; the other tenant's receiver never sees it; and the
#      same event is in AUTOPOST_EVENTS once, on
#      autopost.events.<tenant>.schedule.published with Nats-Msg-Id = event
#      id and the delivered bytes as its body.
# Every wait is bounded (stack_wait_for, STACK_WAIT_TIMEOUT); everything
# listens on loopback. Each check says in a comment what it catches.
# tests/CMakeLists.txt registers every tests/e2e/test_*.sh (label e2e).
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="x facebook"
e2e_begin
TOOLS=$AUTOPOST_BIN/../tests
for t in webhook_receiver js_stream_dump; do
    [[ -x $TOOLS/$t ]] || fail "missing $TOOLS/$t (build the tests)"
done
API_PORT=$(stack_free_port) || fail "no free port"
# webhooks.allow_private: the receivers listen on loopback, and here the API
# too must accept their http://127.0.0.1 URLs (production keeps it off).
# The rate limit is out of the way: this test counts answers, not 429s.
svc_config "api:
  http_port: $API_PORT
  rate_limit_per_second: 1000
  rate_limit_burst: 1000
webhooks:
  allow_private: true
  retry_initial: 100ms
  retry_max: 400ms
  timeout: 1s"
API=http://127.0.0.1:$API_PORT
OUT=$STACK_DIR/fd.out
export STACK_WAIT_TIMEOUT=120

# call METHOD PATH KEY [BODY] [CURL ARGS...]: body to $OUT, prints the code.
call() {
    local method=$1 path=$2 key=$3 body=${4:-}
    shift $(($# < 4 ? $# : 4))
    local args=(-sS -o "$OUT" -w '%{http_code}' -X "$method")
    [[ -z $key ]] || args+=(-H "Authorization: Bearer $key")
    [[ -z $body ]] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
    curl "${args[@]}" "$@" "$API$path"
}
# expect CODE METHOD PATH KEY [BODY] [CURL ARGS...]
expect() {
    local want=$1 got
    shift
    got=$(call "$@")
    [[ $got == "$want" ]] || fail "$1 $2: HTTP $got, expected $want: $(head -c 600 "$OUT")"
}
j() { jq -r "$1" "$OUT"; }
# rows: what a refused request must not change (posts, schedules, stored
# idempotency answers).
rows() {
    stack_psql -c "SELECT (SELECT count(*) FROM posts) || '/' || (SELECT count(*) FROM post_schedules)
                          || '/' || (SELECT count(*) FROM api_idempotency)"
}

# ---- 1. tenants, keys, accounts ---------------------------------------------
A=$(svc_ctl tenants add --name frontdoor-a | awk '{print $NF}')
B=$(svc_ctl tenants add --name frontdoor-b | awk '{print $NF}')
[[ $A =~ ^[0-9a-f-]{36}$ && $B =~ ^[0-9a-f-]{36}$ ]] || fail "tenants add: '$A' '$B'"
key_for() { svc_ctl api-keys create --tenant "$1" --name "$2" | awk '{print $NF}'; }
KA=$(key_for "$A" app)
KB=$(key_for "$B" app)
KR=$(key_for "$A" soon-revoked)
x_user() { curl -fsS -H "Authorization: Bearer $1" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id; }
acct() { svc_ctl accounts add --tenant "$1" --platform "$2" --external-id "$3" --token "$4"; }
# Tenant A: three Facebook pages and an X user; tenant B: two pages and an X user.
ACC_A=("$(acct "$A" facebook 6101 good-token-a)" "$(acct "$A" facebook 6102 good-token-a)"
    "$(acct "$A" facebook 6103 good-token-a)" "$(acct "$A" x "$(x_user x-token-a)" x-token-a)")
ACC_B=("$(acct "$B" facebook 6201 good-token-b)" "$(acct "$B" facebook 6202 good-token-b)"
    "$(acct "$B" x "$(x_user x-token-b)" x-token-b)")
for a in "${ACC_A[@]}" "${ACC_B[@]}"; do [[ $a =~ ^[0-9a-f-]{36}$ ]] || fail "accounts add: '$a'"; done

svc_start api
stack_wait_for curl -fsS -o /dev/null "$API/v1/openapi.json" >/dev/null || fail "the API did not start"
svc_start scheduler
svc_start publisher-x
svc_start publisher-facebook
svc_start dispatcher
svc_start webhooks

# ---- 2. a failing receiver and a webhook per tenant ---------------------------
# receiver NAME PLAN: sets RECV_<NAME> (its record directory) and its port.
receiver() {
    local dir=$STACK_DIR/recv-$1
    mkdir -p "$dir"
    "$TOOLS/webhook_receiver" "$dir.port" "$dir" "$2" >>"$STACK_DIR/logs/recv-$1.log" 2>&1 &
    stack_register_pid $!
    stack_wait_for test -s "$dir.port" >/dev/null || fail "receiver $1 did not start"
}
# A: 500, then no answer within the 1 s timeout, then 503, then 200.
# B: 503, a hang, then 200. Per event id (Autopost-Event-Id).
PLAN_A="500,hang:2500,503,200"
PLAN_B="503,hang:2500,200"
receiver a "$PLAN_A"
receiver b "$PLAN_B"
expect 201 POST /v1/webhooks "$KA" "{\"url\": \"http://127.0.0.1:$(cat "$STACK_DIR/recv-a.port")/hook\", \"events\": [\"*\"]}"
WA=$(j .id) SA=$(j .secret)
expect 201 POST /v1/webhooks "$KB" "{\"url\": \"http://127.0.0.1:$(cat "$STACK_DIR/recv-b.port")/hook\", \"events\": [\"*\"]}"
WB=$(j .id) SB=$(j .secret)
[[ $SA =~ ^whsec_[0-9a-f]{64}$ && $SB =~ ^whsec_[0-9a-f]{64}$ && $SA != "$SB" ]] || fail "secrets '$SA' '$SB'"
pass "two tenants, keys, $((${#ACC_A[@]} + ${#ACC_B[@]})) accounts, a webhook each over HTTP"

# ---- 3. posts with idempotency keys --------------------------------------------
# post_body I ACCOUNT_IDS...: post I's body (text unique per run: X refuses
# duplicate text, and the sandbox check below counts by text).
post_body() {
    local i=$1
    shift
    printf '{"account_ids": [%s], "text": "front door %s post %s"}' \
        "$(printf '"%s",' "$@" | sed 's/,$//')" "$$" "$i"
}
declare -A BODY=() ANSWER=()
SCHED_A=() SCHED_B=() POSTS_A=() POSTS_B=()
# create TENANT_LETTER KEY I ACCOUNT_IDS...: POST with Idempotency-Key
# fd-<I> (the same key strings in both tenants: keys are per tenant).
create() {
    local t=$1 key=$2 i=$3
    shift 3
    BODY[$t$i]=$(post_body "$t$i" "$@")
    expect 201 POST /v1/posts "$key" "${BODY[$t$i]}" -H "Idempotency-Key: fd-$i"
    ANSWER[$t$i]=$(cat "$OUT")
    [[ $(j '.schedules | length') == "$#" ]] || fail "post $t$i: $(cat "$OUT")"
    local ids
    mapfile -t ids < <(j '.schedules[].id')
    if [[ $t == A ]]; then SCHED_A+=("${ids[@]}") POSTS_A+=("$(j .id)"); else SCHED_B+=("${ids[@]}") POSTS_B+=("$(j .id)"); fi
}
# Due now: the pipeline publishes them while the rest of this section runs.
create A "$KA" 1 "${ACC_A[@]}"
create A "$KA" 2 "${ACC_A[0]}" "${ACC_A[3]}"
create A "$KA" 3 "${ACC_A[1]}"
create A "$KA" 4 "${ACC_A[2]}" "${ACC_A[3]}"
create B "$KB" 1 "${ACC_B[@]}"
create B "$KB" 2 "${ACC_B[1]}"
create B "$KB" 3 "${ACC_B[0]}" "${ACC_B[2]}"

# Replays: byte for byte the first answer (a replay that made a new post
# would answer other ids), and nothing more stored.
before=$(rows)
for k in A1 A2 A3 A4 B1 B2 B3; do
    key=$KA
    [[ $k == B* ]] && key=$KB
    expect 201 POST /v1/posts "$key" "${BODY[$k]}" -H "Idempotency-Key: fd-${k#?}"
    [[ $(cat "$OUT") == "${ANSWER[$k]}" ]] || fail "replay of $k differs: $(cat "$OUT") vs ${ANSWER[$k]}"
done
[[ $(rows) == "$before" ]] || fail "replays stored rows: $before -> $(rows)"
# The same key with another body: refused (a server that keyed only on the
# key would replay the first answer with 201; one that ignored it would
# store a second post).
expect 409 POST /v1/posts "$KA" "${BODY[A1]/post/POST}" -H "Idempotency-Key: fd-1"
[[ $(j .error.code) == idempotency_key_reused ]] || fail "409 body: $(cat "$OUT")"
[[ $(rows) == "$before" ]] || fail "the refused reuse stored rows"
pass "Idempotency-Key: 7 posts replayed byte for byte, nothing stored; the key with another body 409"

# 422: field and reason named, nothing stored (a partial insert or a stored
# idempotency answer for a refused request changes the row counts).
LONG=$(printf 'x%.0s' {1..300})
check_422() { # FIELD REASON_GLOB BODY [CURL ARGS...]
    local field=$1 reason=$2 body=$3
    shift 3
    expect 422 POST /v1/posts "$KA" "$body" "$@"
    [[ $(j .error.code) == validation_failed ]] || fail "422 code: $(cat "$OUT")"
    jq -e --arg f "$field" --arg r "$reason" 'any(.error.details[]; .field == $f and (.reason | test($r)))' \
        "$OUT" >/dev/null || fail "422 lacks {$field, /$reason/}: $(cat "$OUT")"
}
check_422 'account_ids[1]' 'no such account' "{\"account_ids\": [\"${ACC_A[0]}\", \"${ACC_B[0]}\"], \"text\": \"other tenant\"}" \
    -H "Idempotency-Key: fd-refused"
check_422 'account_ids[1]' 'not valid for x' "{\"account_ids\": [\"${ACC_A[0]}\", \"${ACC_A[3]}\"], \"text\": \"$LONG\"}"
check_422 at '.' "{\"account_ids\": [\"${ACC_A[0]}\"], \"text\": \"t\", \"at\": \"next tuesday\"}"
check_422 link '.' "{\"account_ids\": [\"${ACC_A[0]}\"], \"text\": \"t\", \"link\": \"ftp://example.com/\"}"
[[ $(rows) == "$before" ]] || fail "a 422 stored rows: $before -> $(rows)"
# The refused request's key is free: its corrected retry is judged afresh
# (a stored 422 would be replayed, or a 409 answered).
create A "$KA" refused "${ACC_A[1]}"
before=$(rows)
pass "422 names field and reason (other tenant's account, too long for X, bad at, ftp link); nothing stored"

# 401: no key, an unknown key, a revoked key that worked a moment ago.
expect 200 GET /v1/accounts "$KR"
svc_ctl api-keys revoke "$(stack_psql -c "SELECT id FROM api_keys WHERE name = 'soon-revoked'")" >/dev/null ||
    fail "api-keys revoke"
for k in "" "apk_$(printf '1%.0s' {1..64})" "$KR"; do
    expect 401 POST /v1/posts "$k" "${BODY[A3]}"
    [[ $(j .error.code) == unauthorized ]] || fail "401 body: $(cat "$OUT")"
done
[[ $(rows) == "$before" ]] || fail "a 401 request stored rows"
pass "401 for no key, an unknown key and a revoked key; nothing stored"

# 404, never 403, across tenants, both ways; and nothing changed by them.
expect 404 GET "/v1/posts/${POSTS_A[0]}" "$KB"
expect 404 GET "/v1/posts/${POSTS_B[0]}" "$KA"
expect 404 POST "/v1/schedules/${SCHED_A[0]}/cancel" "$KB"
expect 404 PATCH "/v1/schedules/${SCHED_B[0]}" "$KA" '{"at": "now"}'
expect 404 GET "/v1/webhooks/$WA/deliveries" "$KB"
expect 404 DELETE "/v1/webhooks/$WB" "$KA"
expect 404 DELETE "/v1/webhooks/$WA" "$KB"
expect 200 GET /v1/webhooks "$KA"
[[ $(j '[.data[].id] | join(",")') == "$WA" ]] || fail "tenant A's webhooks after B's DELETE: $(cat "$OUT")"
[[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE status = 'cancelled'") == 0 ]] ||
    fail "a cross-tenant cancel cancelled a schedule"
pass "404 for the other tenant's post, schedule (read, cancel, reschedule) and webhook (deliveries, delete)"

# ---- 4. published, heard once per event id, signed, kept apart ----------------
ALL=$((${#SCHED_A[@]} + ${#SCHED_B[@]}))
svc_wait_terminal "$ALL" 120 || fail "the schedules did not all end"
[[ $(svc_count_status published) == "$ALL" ]] ||
    fail "not all published: $(stack_psql -c "SELECT status, error_code, error_message FROM post_schedules WHERE status <> 'published'")"
# Each schedule published once on its platform (a resend would add a post).
n=0
for p in facebook x; do
    n=$((n + $(sandbox_get "/_sandbox/posts?platform=$p" | jq --arg t "front door $$ " '[.posts[] | select(.message | startswith($t))] | length')))
done
[[ $n == "$ALL" ]] || fail "the sandbox holds $n posts for $ALL schedules"
# The API shows them published, with the platform's id.
for p in "${POSTS_A[@]}"; do
    expect 200 GET "/v1/posts/$p" "$KA"
    [[ $(j '[.schedules[] | select(.status != "published" or .external_id == null)] | length') == 0 ]] ||
        fail "GET /v1/posts/$p: $(cat "$OUT")"
done
pass "all $ALL schedules published once, GET /v1/posts shows them with external ids"

# ok_events LETTER: the distinct event ids the receiver answered 200.
ok_events() {
    grep -lx answer=200 "$STACK_DIR/recv-$1"/*.meta 2>/dev/null | xargs -r sed -n 's/^event_id=//p' | sort -u
}
all_heard() { [[ $(ok_events a | grep -c .) -ge ${#SCHED_A[@]} && $(ok_events b | grep -c .) -ge ${#SCHED_B[@]} ]]; }
stack_wait_for all_heard >/dev/null ||
    fail "not every event answered 200: a $(ok_events a | grep -c .)/${#SCHED_A[@]}, b $(ok_events b | grep -c .)/${#SCHED_B[@]};
$(stack_psql -c "SELECT webhook_id, state, attempts, last_status, last_error FROM webhook_deliveries")"

DUMP=$STACK_DIR/events.dump
"$TOOLS/js_stream_dump" "$AUTOPOST_NATS_URL" AUTOPOST_EVENTS >"$DUMP" || fail "cannot read AUTOPOST_EVENTS"

# check_tenant LETTER TENANT SECRET OTHER_SECRET PLAN SCHEDULE_IDS...
check_tenant() {
    local r=$1 tenant=$2 secret=$3 other=$4 plan=$5 dir=$STACK_DIR/recv-$1
    shift 5
    local want got meta body sig t v1 mac e oks dups=0 lines
    want=$(printf '%s\n' "$@" | sort)
    # Every request (each failed attempt too) is signed with this tenant's
    # secret over "<t>.<raw body>", t recent; a wrong key, a re-encoded body
    # or a stale t fails here.
    for meta in "$dir"/*.meta; do
        body=${meta%.meta}.body
        sig=$(sed -n 's/^signature=//p' "$meta")
        [[ $sig =~ ^t=([0-9]+),v1=([0-9a-f]{64})$ ]] || fail "$meta: signature header '$sig'"
        t=${BASH_REMATCH[1]} v1=${BASH_REMATCH[2]}
        mac=$( (printf '%s.' "$t"; cat "$body") | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
        [[ $mac == "$v1" ]] || fail "$meta: the signature does not verify with tenant $r's secret"
        (($(date +%s) - t < 300)) || fail "$meta: t=$t is stale"
        # Isolation: the body is this tenant's, of the one type it made, and
        # the header names the body's event (catches a cross-tenant route).
        jq -e --arg tenant "$tenant" --arg id "$(sed -n 's/^event_id=//p' "$meta")" \
            '.tenant_id == $tenant and .type == "schedule.published" and .id == $id' "$body" >/dev/null ||
            fail "$meta: not tenant $r's schedule.published event: $(cat "$body")"
    done
    # The check above is not vacuous: the other tenant's secret does not verify.
    local metas=("$dir"/*.meta)
    meta=${metas[0]}
    t=$(sed -n 's/^signature=t=\([0-9]*\),.*/\1/p' "$meta")
    [[ $( (printf '%s.' "$t"; cat "${meta%.meta}.body") | openssl dgst -sha256 -hmac "$other" | awk '{print $NF}') != \
        "$(sed -n 's/^signature=.*v1=//p' "$meta")" ]] || fail "the other tenant's secret verifies $meta"
    # At least once, one event id per schedule, exactly the schedules this
    # tenant created: a lost event, another tenant's, or a re-relay with a
    # new id (two ids for one schedule) fails here. Duplicate 2xx
    # deliveries of one id are allowed (at least once) and counted.
    oks=$(ok_events "$r")
    got=$(for e in $oks; do
        grep -lx "event_id=$e" "$dir"/*.meta | head -n1 | sed 's/\.meta$/.body/' | xargs jq -r .data.schedule.id
    done | sort)
    [[ $got == "$want" ]] || fail "tenant $r heard schedules
$got
expected
$want"
    [[ $(sort -u <<<"$got" | grep -c .) == $(grep -c . <<<"$oks") ]] || fail "tenant $r: a schedule under two event ids"
    for e in $oks; do
        # Each event went through the plan's failures before its 200, in
        # order (a sender that took a 5xx or no answer as delivered, or did
        # not retry, shows another sequence).
        lines=$(grep -lx "event_id=$e" "$dir"/*.meta | xargs -n1 basename | sort -n |
            while read -r f; do sed -n 's/^answer=//p' "$dir/$f"; done | paste -sd,)
        [[ $lines == "$plan"* ]] || fail "tenant $r event $e: answers $lines, expected $plan first"
        dups=$((dups + $(grep -lx "event_id=$e" "$dir"/*.meta | xargs grep -lx answer=200 | grep -c .) - 1))
    done
    # AUTOPOST_EVENTS: each event once, on its tenant's subject, Nats-Msg-Id =
    # event id, the delivered bytes as its body (a relay that published on
    # another subject, without the id, twice, or other bytes fails here).
    local stream_ids
    stream_ids=$(awk -F'\t' -v p="autopost.events.$tenant." 'index($2, p) == 1 {print $3}' "$DUMP" | sort)
    [[ $stream_ids == "$oks" ]] || fail "tenant $r: the stream's ids differ from the delivered ones:
$(diff <(echo "$oks") <(echo "$stream_ids"))"
    for e in $oks; do
        [[ $(awk -F'\t' -v id="$e" '$3 == id' "$DUMP" | cut -f2) == "autopost.events.$tenant.schedule.published" ]] ||
            fail "event $e: not once on autopost.events.$tenant.schedule.published"
        cmp -s <(awk -F'\t' -v id="$e" '$3 == id {print $4}' "$DUMP" | tr -d '\n') \
            <(grep -lx "event_id=$e" "$dir"/*.meta | head -n1 | sed 's/\.meta$/.body/' | xargs cat | tr -d '\n') ||
            fail "event $e: the stream's body is not the delivered body"
    done
    echo "ok: tenant $r heard $(grep -c . <<<"$oks") events ($dups duplicate 2xx deliveries), ${#metas[@]} requests, all signed"
}
check_tenant a "$A" "$SA" "$SB" "$PLAN_A" "${SCHED_A[@]}"
check_tenant b "$B" "$SB" "$SA" "$PLAN_B" "${SCHED_B[@]}"
pass "each published schedule heard by its own tenant only, one event id each, after 5xx and a hang, signed; the same events once in AUTOPOST_EVENTS"

# The API's view of the deliveries agrees: every event delivered, with the
# attempts the plan forced (4 for A, 3 for B).
expect 200 GET "/v1/webhooks/$WA/deliveries?limit=200" "$KA"
[[ $(j '[.data[] | select(.state == "delivered" and .attempts == 4 and .status_code == 200)] | length') == "${#SCHED_A[@]}" ]] ||
    fail "A's deliveries: $(cat "$OUT")"
expect 200 GET "/v1/webhooks/$WB/deliveries?limit=200" "$KB"
[[ $(j '[.data[] | select(.state == "delivered" and .attempts == 3 and .status_code == 200)] | length') == "${#SCHED_B[@]}" ]] ||
    fail "B's deliveries: $(cat "$OUT")"
pass "GET /v1/webhooks/{id}/deliveries: every event delivered after the planned attempts"

e2e_finish
pass "front door"
