#!/usr/bin/env bash
# autopost-api over HTTP with curl, against the real pipeline (issue 18):
# two tenants and their keys (autopostctl tenants / api-keys), 401 for a
# missing, unknown or revoked key, 404 across tenants, POST /v1/posts with an
# Idempotency-Key replayed (same ids) and reused with another body (409),
# concurrent duplicates creating one post, 422 cases that store nothing, 413,
# 429 with Retry-After, cursor pagination, cancel (a queued schedule too:
# the publishers' attempt record; 409 when one holds it), reschedule, the OpenAPI
# document, X-Request-Id in the log, webhook endpoints (secret shown once,
# 404 across tenants, private URLs 422), and a post created through the API
# that the scheduler, publisher and dispatcher really publish and
# autopost-webhooks delivers, as GET /v1/webhooks/{id}/deliveries shows.
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="x facebook linkedin"
e2e_begin
API_PORT=$(stack_free_port)
METRICS_PORT=$(stack_free_port)
# webhooks.allow_private is on for autopost-webhooks and autopostctl (the
# test receiver listens on loopback) and off for the API (as in production).
svc_config "api:
  http_port: $API_PORT
  rate_limit_per_second: 20
  rate_limit_burst: 40
webhooks:
  allow_private: true
  retry_initial: 100ms
  retry_max: 400ms"
API=http://127.0.0.1:$API_PORT
OUT=$STACK_DIR/api.out
HDR=$STACK_DIR/api.hdr
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

# call METHOD PATH KEY [BODY] [CURL ARGS...]: the body goes to $OUT, the
# headers to $HDR; prints the status code.
call() {
    local method=$1 path=$2 key=$3 body=${4:-}
    shift $(($# < 4 ? $# : 4))
    local args=(-sS -o "$OUT" -D "$HDR" -w '%{http_code}' -X "$method")
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
    grep -qi '^X-Request-Id: [0-9a-f-]\{36\}' "$HDR" || fail "$1 $2: no X-Request-Id header"
}
j() { jq -r "$1" "$OUT"; }
posts_count() { stack_psql -c "SELECT count(*) FROM posts"; }
in_future() { date -u -d "+$1" +%Y-%m-%dT%H:%M:%SZ; }

# ---- tenants, keys, accounts -------------------------------------------------
A=$(svc_ctl tenants add --name acme | awk '{print $NF}')
B=$(svc_ctl tenants add --name globex | awk '{print $NF}')
[[ $A =~ $UUID_RE && $B =~ $UUID_RE ]] || fail "tenants add printed no ids: '$A' '$B'"
svc_ctl tenants add --name acme >/dev/null 2>&1 && fail "a second tenant named acme was added"
svc_ctl tenants list | grep -q globex || fail "tenants list lacks globex"
key_for() { svc_ctl api-keys create --tenant "$1" --name "$2" | awk '{print $NF}'; }
KA=$(key_for "$A" main)
KB=$(key_for "$B" main)
KR=$(key_for "$A" to-revoke)
KL=$(key_for "$A" limited)
[[ $KA =~ ^apk_[0-9a-f]{64}$ ]] || fail "api-keys create printed no key: '$KA'"
svc_ctl api-keys list --tenant "$A" >"$OUT"
grep -q "${KA:0:12}" "$OUT" || fail "api-keys list lacks the key's prefix"
grep -q "$KA" "$OUT" && fail "api-keys list shows a whole key"
[[ $(stack_psql -c "SELECT count(*) FROM api_keys WHERE key_hash = sha256('$KA'::bytea)") == 1 ]] ||
    fail "the stored hash is not SHA-256 of the key"
pass "tenants and keys: ids, keys printed once, only prefixes listed, SHA-256 stored"

XU=$(curl -fsS -H "Authorization: Bearer x-good-token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
XA=$(svc_ctl accounts add --platform x --external-id "$XU" --token x-good-token)
FA=$(svc_ctl accounts add --platform facebook --external-id 5001 --token fb-good-token)
XB=$(svc_ctl accounts add --platform x --external-id 7002 --token x-other-token)
stack_psql -c "UPDATE social_accounts SET tenant_id = '$A' WHERE id IN ('$XA', '$FA');
               UPDATE social_accounts SET tenant_id = '$B' WHERE id = '$XB'" >/dev/null

# The API runs as a login user in autopost_api (0011_api.sql), as deployed:
# everything below passing under it shows the grants are enough; the checks
# at the end show they are not more.
stack_psql -c "CREATE ROLE api_login LOGIN IN ROLE autopost_api" >/dev/null
API_DSN=$(sed 's/user=[^ ]*/user=api_login/' <<<"$AUTOPOST_POSTGRES_DSN")
# Its health endpoint on a port of its own: the other services share the
# config and would all try to bind the same one.
API_CONFIG=$STACK_DIR/api.yaml
{ sed 's/^  allow_private: true$/  allow_private: false/' "$AUTOPOST_CONFIG"
  printf 'service:\n  http_port: %s\n' "$METRICS_PORT"; } >"$API_CONFIG"
grep -q '^  allow_private: false$' "$API_CONFIG" || fail "the API's config still allows private webhook URLs"
AUTOPOST_CONFIG=$API_CONFIG AUTOPOST_POSTGRES_DSN=$API_DSN svc_start api
stack_wait_for curl -fsS -o /dev/null "$API/v1/openapi.json" >/dev/null || fail "the API did not start"
svc_start scheduler
svc_start publisher-x
svc_start publisher-facebook
svc_start dispatcher
svc_start webhooks

# ---- OpenAPI, 401, accounts --------------------------------------------------
expect 200 GET /v1/openapi.json ""
[[ $(j .openapi) == 3.1.0 && $(j '.paths | has("/v1/posts")') == true ]] ||
    fail "openapi.json is not the document: $(head -c 200 "$OUT")"
expect 401 GET /v1/accounts ""
[[ $(j .error.code) == unauthorized ]] || fail "401 without the error shape: $(cat "$OUT")"
grep -qi '^WWW-Authenticate: Bearer' "$HDR" || fail "401 without WWW-Authenticate"
expect 401 GET /v1/accounts "apk_$(printf '0%.0s' {1..64})"
expect 401 GET /v1/accounts "not-a-key"
expect 200 GET /v1/accounts "$KR"
svc_ctl api-keys revoke "$(stack_psql -c "SELECT id FROM api_keys WHERE name = 'to-revoke'")" >/dev/null
expect 401 GET /v1/accounts "$KR"
pass "401: no key, unknown key, malformed key, revoked key (which worked before)"

expect 200 GET /v1/accounts "$KA"
[[ $(j '.data | length') == 2 && $(j '[.data[].id] | sort | join(",")') == \
    "$(printf '%s\n' "$XA" "$FA" | sort | paste -sd,)" ]] || fail "tenant A's accounts: $(cat "$OUT")"
expect 200 GET /v1/accounts "$KB"
[[ $(j '.data | length') == 1 && $(j '.data[0].id') == "$XB" ]] || fail "tenant B's accounts: $(cat "$OUT")"
pass "GET /v1/accounts: each key sees its own tenant's accounts only"

# ---- create, idempotency -------------------------------------------------------
AT=$(in_future '2 hours')
BODY1="{\"account_ids\": [\"$XA\", \"$FA\"], \"text\": \"hello from the api\", \"at\": \"$AT\"}"
expect 201 POST /v1/posts "$KA" "$BODY1" -H 'Idempotency-Key: k-1'
FIRST=$(cat "$OUT")
P1=$(j .id)
[[ $P1 =~ $UUID_RE && $(j '.schedules | length') == 2 && $(j '.schedules[0].account_id') == "$XA" &&
    $(j '.schedules[0].platform') == x && $(j '.schedules[1].platform') == facebook &&
    $(j '.schedules[0].status') == pending && $(j '.schedules[0].scheduled_at') == "${AT%Z}.000Z" ]] ||
    fail "201 body: $FIRST"
before=$(posts_count)
expect 201 POST /v1/posts "$KA" "$BODY1" -H 'Idempotency-Key: k-1'
[[ $(cat "$OUT") == "$FIRST" ]] || fail "replay differs: $(cat "$OUT") vs $FIRST"
[[ $(posts_count) == "$before" ]] || fail "the replay stored a post"
expect 409 POST /v1/posts "$KA" "${BODY1/hello/HELLO}" -H 'Idempotency-Key: k-1'
[[ $(j .error.code) == idempotency_key_reused ]] || fail "409 body: $(cat "$OUT")"
BODYB="{\"account_ids\": [\"$XB\"], \"text\": \"tenant b\", \"at\": \"$AT\"}"
expect 201 POST /v1/posts "$KB" "$BODYB" -H 'Idempotency-Key: k-1'
PB=$(j .id)
SB=$(j '.schedules[0].id')
pass "Idempotency-Key: replay gives the same ids, another body 409, keys are per tenant"

# Concurrent duplicates: eight at once with one key make one post.
before=$(posts_count)
BODYC="{\"account_ids\": [\"$FA\"], \"text\": \"concurrent\", \"at\": \"$AT\"}"
conc_pids=()
for i in 1 2 3 4 5 6 7 8; do
    curl -sS -o "$STACK_DIR/conc.$i" -w '%{http_code}\n' -H "Authorization: Bearer $KA" \
        -H 'Idempotency-Key: k-conc' -H 'Content-Type: application/json' \
        --data-binary "$BODYC" "$API/v1/posts" >"$STACK_DIR/conc.$i.code" &
    conc_pids+=($!)
done
wait "${conc_pids[@]}" # not a bare wait: the services are children too
[[ $(posts_count) == $((before + 1)) ]] || fail "8 concurrent duplicates made $(($(posts_count) - before)) posts"
[[ $(cat "$STACK_DIR"/conc.*.code | sort -u) == 201 ]] || fail "concurrent codes: $(cat "$STACK_DIR"/conc.*.code)"
[[ $(jq -r .id "$STACK_DIR"/conc.[1-8] | sort -u | wc -l) == 1 ]] || fail "concurrent answers name different posts"
pass "8 concurrent requests with one Idempotency-Key: one post, the same answer to all"

# ---- 422 -------------------------------------------------------------------------
before=$(posts_count)
expect 422 POST /v1/posts "$KA" "{\"account_ids\": [\"$XA\", \"$XB\"], \"text\": \"x\", \"at\": \"$AT\"}"
[[ $(j '.error.details[0].field') == 'account_ids[1]' && $(j '.error.details[0].reason') == 'no such account' ]] ||
    fail "another tenant's account: $(cat "$OUT")"
expect 422 POST /v1/posts "$KA" "{\"account_ids\": [\"$(cat /proc/sys/kernel/random/uuid)\"], \"text\": \"x\"}"
[[ $(j '.error.details[0].reason') == 'no such account' ]] || fail "unknown account: $(cat "$OUT")"
LONG=$(printf 'a%.0s' {1..300})
expect 422 POST /v1/posts "$KA" "{\"account_ids\": [\"$XA\", \"$FA\"], \"text\": \"$LONG\", \"at\": \"$AT\"}"
[[ $(j '.error.details | length') == 1 && $(j '.error.details[0].field') == 'account_ids[0]' &&
    $(j '.error.details[0].reason') == *"not valid for x"* ]] || fail "300 characters for X: $(cat "$OUT")"
expect 422 POST /v1/posts "$KA" "{\"account_ids\": [\"$XA\"], \"text\": \"x\", \"at\": \"tomorrow\"}"
[[ $(j '.error.details[0].field') == at ]] || fail "bad at: $(cat "$OUT")"
expect 422 POST /v1/posts "$KA" "{\"account_ids\": [\"$XA\"], \"text\": \"x\", \"at\": \"2020-01-01T00:00:00Z\"}"
[[ $(j '.error.details[0].field') == at && $(j '.error.message') == *"in the past"* ]] || fail "past at: $(cat "$OUT")"
expect 422 POST /v1/posts "$KA" "{\"account_ids\": [\"$XA\"], \"txt\": \"x\"}"
expect 422 POST /v1/posts "$KA" "{\"account_ids\": [\"$XA\"], \"text\": \"x\", \"link\": \"ftp://h/\"}"
[[ $(j '.error.details[0].field') == link ]] || fail "ftp link: $(cat "$OUT")"
expect 400 POST /v1/posts "$KA" "{not json"
[[ $(posts_count) == "$before" ]] || fail "a refused request stored a post"
pass "422: another tenant's account, unknown account, too long for X, bad and past at, unknown key, bad link; nothing stored"

# ---- 404 across tenants ---------------------------------------------------------
expect 200 GET "/v1/posts/$P1" "$KA"
[[ $(j '.schedules | length') == 2 && $(j .text) == 'hello from the api' ]] || fail "GET post: $(cat "$OUT")"
expect 404 GET "/v1/posts/$P1" "$KB"
expect 404 GET "/v1/posts/$PB" "$KA"
expect 404 GET "/v1/schedules/$SB" "$KA"
expect 200 GET "/v1/schedules/$SB" "$KB"
[[ $(j .id) == "$SB" && $(j .priority) == normal && $(j .status) == pending ]] ||
    fail "GET /v1/schedules/{id}: $(cat "$OUT")"
expect 404 POST "/v1/schedules/$SB/cancel" "$KA"
expect 404 PATCH "/v1/schedules/$SB" "$KA" "{\"at\": \"$AT\"}"
expect 404 GET "/v1/posts/not-a-uuid" "$KA"
expect 404 GET "/v1/nothing" "$KA"
expect 405 DELETE "/v1/posts/$P1" "$KA"
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$SB'") == pending ]] ||
    fail "tenant A's request changed tenant B's schedule"
pass "404 for another tenant's post and schedule (read, cancel, reschedule), unknown routes 404/405"

# ---- webhook endpoints -----------------------------------------------------------------
endpoints_count() { stack_psql -c "SELECT count(*) FROM webhook_endpoints"; }
expect 201 POST /v1/webhooks "$KA" '{"url": "https://hooks.example.com/autopost", "events": ["schedule.published", "schedule.failed"]}'
WA=$(j .id)
SECRET=$(j .secret)
[[ $WA =~ $UUID_RE && $SECRET =~ ^whsec_[0-9a-f]{64}$ &&
    $(j '.events | join(",")') == schedule.published,schedule.failed ]] || fail "201 webhook: $(cat "$OUT")"
[[ $(stack_psql -c "SELECT tenant_id FROM webhook_endpoints WHERE id = '$WA'") == "$A" ]] ||
    fail "the endpoint is not tenant A's"
[[ $(stack_psql -c "SELECT count(*) FROM webhook_endpoints WHERE position(convert_to('$SECRET', 'UTF8') IN secret_sealed) > 0") == 0 ]] ||
    fail "the secret is stored in clear"
expect 201 POST /v1/webhooks "$KB" '{"url": "https://hooks.example.org/b", "events": ["*"]}'
WB=$(j .id)
expect 200 GET /v1/webhooks "$KA"
[[ $(j '[.data[].id] | join(",")') == "$WA" && $(j '.data[0].url') == https://hooks.example.com/autopost &&
    $(j '.data[0].failing_since') == null && $(j '.data[0].created_at') != null ]] || fail "GET /v1/webhooks: $(cat "$OUT")"
grep -q whsec_ "$OUT" && fail "GET /v1/webhooks shows a secret: $(cat "$OUT")"
[[ $(j '.data[0] | has("secret")') == false ]] || fail "GET /v1/webhooks has a secret field"
grep -q "$SECRET" "$STACK_DIR/logs/api.log" && fail "the secret is in the API's log"
expect 200 GET "/v1/webhooks/$WA/deliveries" "$KA"
[[ $(j '.data | length') == 0 ]] || fail "a new endpoint has deliveries: $(cat "$OUT")"
expect 404 GET "/v1/webhooks/$WA/deliveries" "$KB"
[[ $(j .error.code) == not_found ]] || fail "404 without the error shape: $(cat "$OUT")"
expect 404 DELETE "/v1/webhooks/$WA" "$KB"
expect 404 DELETE "/v1/webhooks/$WB" "$KA"
expect 404 DELETE "/v1/webhooks/not-a-uuid" "$KA"
expect 404 GET "/v1/webhooks/$(cat /proc/sys/kernel/random/uuid)/deliveries" "$KA"
expect 422 GET "/v1/webhooks/$WA/deliveries?limit=0" "$KA"
[[ $(stack_psql -c "SELECT count(*) FROM webhook_endpoints WHERE id IN ('$WA', '$WB')") == 2 ]] ||
    fail "another tenant's DELETE removed an endpoint"
before=$(endpoints_count)
for url in "http://127.0.0.1:9/hook" "https://127.0.0.1/hook" "https://10.0.0.8/hook" \
    "https://169.254.169.254/latest" "https://[::1]/hook" "https://localhost/hook" "ftp://hooks.example.com/"; do
    expect 422 POST /v1/webhooks "$KA" "{\"url\": \"$url\", \"events\": [\"*\"]}"
    [[ $(j '.error.details[0].field') == url ]] || fail "$url: $(cat "$OUT")"
done
expect 422 POST /v1/webhooks "$KA" '{"url": "https://hooks.example.com/x", "events": ["schedule.published", "Bad Type"]}'
[[ $(j '.error.details[0].field') == 'events[1]' ]] || fail "bad event type: $(cat "$OUT")"
expect 422 POST /v1/webhooks "$KA" '{"url": "https://hooks.example.com/x", "events": []}'
expect 422 POST /v1/webhooks "$KA" '{"url": "https://hooks.example.com/x", "events": ["*"], "secret": "mine"}'
expect 400 POST /v1/webhooks "$KA" '{"url":'
[[ $(endpoints_count) == "$before" ]] || fail "a refused webhook was stored"
expect 204 DELETE "/v1/webhooks/$WA" "$KA"
expect 404 DELETE "/v1/webhooks/$WA" "$KA"
expect 200 GET /v1/webhooks "$KA"
[[ $(j '.data | length') == 0 ]] || fail "deleted endpoint still listed: $(cat "$OUT")"
expect 204 DELETE "/v1/webhooks/$WB" "$KB"
pass "webhooks: 201 with the secret once (sealed, never listed or logged), list, 404 across tenants, private URLs and bad events 422, delete"

# ---- 413 ----------------------------------------------------------------------------
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$STACK_DIR/big"
expect 413 POST /v1/posts "$KA" "" --data-binary "@$STACK_DIR/big" -H 'Content-Type: application/json'
[[ $(j .error.code) == payload_too_large ]] || fail "413 body: $(cat "$OUT")"
# A chunked body has no Content-Length: refused once it grows past 1 MiB.
expect 413 POST /v1/posts "$KA" "" --data-binary "@$STACK_DIR/big" -H 'Transfer-Encoding: chunked'
pass "413 for a body over 1 MiB, with and without Content-Length"

# ---- pagination ----------------------------------------------------------------------
for i in 1 2 3 4 5; do
    expect 201 POST /v1/posts "$KA" "{\"account_ids\": [\"$XA\"], \"text\": \"page $i\", \"at\": \"$AT\"}"
done
want=$(stack_psql -c "SELECT string_agg(s.id::text, ',' ORDER BY s.id) FROM post_schedules s
                      JOIN social_accounts a ON a.id = s.account_id WHERE a.tenant_id = '$A'")
got= cursor= pages=0
while :; do
    expect 200 GET "/v1/schedules?limit=2${cursor:+&cursor=$cursor}" "$KA"
    [[ $(j '.data | length') -le 2 ]] || fail "a page over the limit"
    got+=$(j '[.data[].id] | join(",")'),
    cursor=$(j '.next_cursor // empty')
    pages=$((pages + 1))
    [[ -n $cursor ]] || break
    ((pages < 50)) || fail "pagination does not end"
done
[[ ${got%,} == "$want" ]] || fail "pages gave ${got%,}, expected $want"
expect 200 GET "/v1/schedules?status=pending&account_id=$FA" "$KA"
[[ $(j '[.data[].account_id] | unique | join(",")') == "$FA" ]] || fail "account filter: $(cat "$OUT")"
expect 200 GET "/v1/schedules?limit=100000" "$KA"
expect 422 GET "/v1/schedules?cursor=bogus" "$KA"
expect 422 GET "/v1/schedules?status=done" "$KA"
pass "GET /v1/schedules: $pages pages of 2 give every schedule of the tenant once, in id order; filters"

# ---- cancel, reschedule ------------------------------------------------------------
S1=$(jq -r '.schedules[0].id' <<<"$FIRST")
S2=$(jq -r '.schedules[1].id' <<<"$FIRST")
expect 200 POST "/v1/schedules/$S1/cancel" "$KA"
[[ $(j .status) == cancelled ]] || fail "cancel: $(cat "$OUT")"
[[ $(stack_psql -c "SELECT actor FROM schedule_attempts WHERE schedule_id = '$S1' AND event = 'cancelled'") == autopost-api ]] ||
    fail "cancel wrote no history line"
expect 409 POST "/v1/schedules/$S1/cancel" "$KA"
[[ $(j .error.code) == not_cancellable ]] || fail "second cancel: $(cat "$OUT")"
AT2=$(in_future '3 hours')
expect 200 PATCH "/v1/schedules/$S2" "$KA" "{\"at\": \"$AT2\"}"
[[ $(j .scheduled_at) == "${AT2%Z}.000Z" ]] || fail "reschedule: $(cat "$OUT")"
expect 409 PATCH "/v1/schedules/$S1" "$KA" "{\"at\": \"$AT2\"}"
expect 422 PATCH "/v1/schedules/$S2" "$KA" "{\"at\": \"soon\"}"
expect 422 PATCH "/v1/schedules/$S2" "$KA" "{\"at\": \"$AT2\", \"text\": \"no\"}"
pass "cancel (200, then 409, history by autopost-api), reschedule (200; 409 when cancelled; 422 bad at)"

# ---- published through the pipeline -------------------------------------------------
# A receiver on loopback for tenant A (added with autopostctl: its config
# allows private URLs, the API's does not) that answers 503 first, then 200.
RECV=$STACK_DIR/recv
mkdir -p "$RECV"
"$AUTOPOST_BIN/../tests/webhook_receiver" "$RECV.port" "$RECV" "503,200" >>"$STACK_DIR/logs/recv.log" 2>&1 &
stack_register_pid $!
stack_wait_for test -s "$RECV.port" >/dev/null || fail "the webhook receiver did not start"
read -r WR _ < <(svc_ctl webhooks add --tenant "$A" --url "http://127.0.0.1:$(cat "$RECV.port")/hook" \
    --events schedule.published) || fail "webhooks add"
expect 201 POST /v1/posts "$KA" "{\"account_ids\": [\"$XA\"], \"text\": \"live via the api $$\"}"
PNOW=$(j .id)
published() { [[ $(call GET "/v1/posts/$PNOW" "$KA") == 200 && $(j '.schedules[0].status') == published ]]; }
stack_wait_for published >/dev/null || fail "the API's post was not published: $(cat "$OUT")"
[[ -n $(j '.schedules[0].external_id // empty') && $(j '.schedules[0].published_at') != null &&
    $(j '.schedules[0].error') == null ]] || fail "published schedule: $(cat "$OUT")"
[[ $(sandbox_get "/_sandbox/posts?platform=x" | jq --arg t "live via the api $$" '[.posts[] | select(.message == $t)] | length') == 1 ]] ||
    fail "the sandbox did not get the post exactly once"
pass "a post created through the API is published by the pipeline, once, with its external id"

# The schedule.published event reaches tenant A's receiver through the
# outbox relay and autopost-webhooks; the API shows that delivery.
SNOW=$(j '.schedules[0].id')
delivered() {
    [[ $(call GET "/v1/webhooks/$WR/deliveries" "$KA") == 200 &&
        $(j "[.data[] | select(.state == \"delivered\")] | length") -ge 1 ]]
}
stack_wait_for delivered >/dev/null || fail "no delivery shown: $(cat "$OUT")"
ev=$(j '[.data[] | select(.state == "delivered")][0].event_id')
[[ $(j '[.data[] | select(.state == "delivered")][0] | "\(.event_type) \(.status_code) \(.attempts) \(.delivered_at != null)"') == \
    "schedule.published 200 2 true" ]] || fail "the delivery after a 503: $(cat "$OUT")"
[[ $(grep -lx "event_id=$ev" "$RECV"/*.meta | xargs grep -hx 'answer=.*' | sort | paste -sd,) == answer=200,answer=503 ]] ||
    fail "the receiver did not answer 503 then 200 for $ev"
body=$(grep -lx "event_id=$ev" "$RECV"/*.meta | xargs grep -lx 'answer=200')
[[ $(jq -r '.data.schedule.id' "${body%.meta}.body") == "$SNOW" ]] || fail "the delivered event is not the schedule's"
expect 404 GET "/v1/webhooks/$WR/deliveries" "$KB"
pass "GET /v1/webhooks/{id}/deliveries: the published schedule's event, 503 then 200, two attempts"

# ---- request id in the log, 429 ----------------------------------------------------------
rid=$(grep -i '^X-Request-Id:' "$HDR" | tr -d '\r' | awk '{print $2}')
grep -q "request_id=$rid" "$STACK_DIR/logs/api.log" || fail "request id $rid is not in the API's log"
# One curl, one kept-alive connection, 100 requests: far faster than the
# refill (20/s after a burst of 40). Bodies and codes share stdout, each
# code on a line of its own.
urls=()
for i in $(seq 1 100); do urls+=("$API/v1/accounts"); done
curl -sS -D "$STACK_DIR/rl.hdr" -w '\n%{http_code}\n' -H "Authorization: Bearer $KL" \
    "${urls[@]}" >"$STACK_DIR/rl.codes"
grep -q '^429$' "$STACK_DIR/rl.codes" || fail "100 quick requests on one key got no 429"
grep -q '^200$' "$STACK_DIR/rl.codes" || fail "the burst allowance let nothing through"
grep -qi '^Retry-After: [1-9]' "$STACK_DIR/rl.hdr" || fail "429 without Retry-After"
expect 200 GET /v1/accounts "$KA"
pass "X-Request-Id is in the log; 429 with Retry-After for one busy key, another key unaffected"

# ---- cancel of a queued schedule: the publishers' attempt record --------------------------
# A LinkedIn account whose publisher is not running yet: the scheduler queues
# its schedules (the jobs wait in AUTOPOST_JOBS) and nothing takes them.
LA=$(svc_ctl accounts add --platform linkedin --external-id urn:li:person:sandbox1 --token li-good-token)
stack_psql -c "UPDATE social_accounts SET tenant_id = '$A' WHERE id = '$LA'" >/dev/null
expect 201 POST /v1/posts "$KA" "{\"account_ids\": [\"$LA\"], \"text\": \"queued, then cancelled $$\"}"
QC=$(j '.schedules[0].id')
expect 201 POST /v1/posts "$KA" "{\"account_ids\": [\"$LA\"], \"text\": \"queued, already with a publisher $$\"}"
QS=$(j '.schedules[0].id')
status_of() { stack_psql -c "SELECT status FROM post_schedules WHERE id = '$1'"; }
both_queued() { [[ $(status_of "$QC") == queued && $(status_of "$QS") == queued ]]; }
stack_wait_for both_queued >/dev/null || fail "not queued: $(status_of "$QC") $(status_of "$QS")"
# kv_value KEY: the attempt record's text in the LinkedIn bucket ("" when none).
kv_value() {
    nats_req '$JS.API.STREAM.MSG.GET.KV_autopost_attempts_linkedin' \
        "{\"last_by_subj\": \"\$KV.autopost_attempts_linkedin.$1\"}" | jq -r '.message.data // empty' | base64 -d
}
# kv_put KEY VALUE: a record as a publisher writes it.
kv_put() {
    [[ $(nats_req "\$KV.autopost_attempts_linkedin.$1" "$2") == *'"stream":"KV_autopost_attempts_linkedin"'* ]] ||
        fail "could not write the attempt record $1"
}
QS_KEY=$QS-$(stack_psql -c "SELECT generation FROM post_schedules WHERE id = '$QS'")
QC_KEY=$QC-$(stack_psql -c "SELECT generation FROM post_schedules WHERE id = '$QC'")
# QS: a publisher already began its call (its record says so): the post may
# be live, so the cancel must be refused and change nothing.
kv_put "$QS_KEY" "started attempt=1 at=$(date +%s%3N) by=test-publisher"
expect 409 POST "/v1/schedules/$QS/cancel" "$KA"
[[ $(j .error.code) == publishing_started ]] || fail "cancel of a started schedule: $(cat "$OUT")"
[[ $(status_of "$QS") == queued && $(kv_value "$QS_KEY") == started* ]] ||
    fail "a refused cancel changed something: $(status_of "$QS"), record '$(kv_value "$QS_KEY")'"
# QC: nobody has it yet: cancelled, and the mark is in the publishers' record.
expect 200 POST "/v1/schedules/$QC/cancel" "$KA"
[[ $(j .status) == cancelled ]] || fail "cancel of a queued schedule: $(cat "$OUT")"
[[ $(kv_value "$QC_KEY") == cancelled ]] || fail "no cancel mark in KV for $QC_KEY: '$(kv_value "$QC_KEY")'"
[[ $(stack_psql -c "SELECT actor FROM schedule_attempts WHERE schedule_id = '$QC' AND event = 'cancelled'") == autopost-api ]] ||
    fail "the queued cancel wrote no history line"
expect 409 POST "/v1/schedules/$QC/cancel" "$KA"
[[ $(j .error.code) == not_cancellable ]] || fail "second cancel of $QC: $(cat "$OUT")"
# Now the publisher comes. QS's holder "finished" (published), so it only
# re-reports that; QC's job must be skipped: the sandbox never sees it.
kv_put "$QS_KEY" "published attempt=1 at=$(date +%s%3N) by=test-publisher id=urn:li:share:api-test"
svc_start publisher-linkedin
qs_published() { [[ $(status_of "$QS") == published ]]; }
stack_wait_for qs_published >/dev/null || fail "$QS was not re-reported published: $(status_of "$QS")"
drained() {
    [[ $(curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/jsz?consumers=true" | jq '[.account_details[]?.stream_detail[]?
        | select(.name == "AUTOPOST_JOBS") | .consumer_detail[]? | select(.name == "publisher-linkedin")
        | .num_pending + .num_ack_pending] | first') == 0 ]]
}
stack_wait_for drained >/dev/null || fail "publisher-linkedin did not take its jobs"
[[ $(sandbox_get "/_sandbox/posts?platform=linkedin" | jq --arg t "queued, then cancelled $$" '[.posts[] | select(.message == $t)] | length') == 0 ]] ||
    fail "the cancelled queued schedule reached the platform"
[[ $(status_of "$QC") == cancelled ]] || fail "$QC is $(status_of "$QC") after the publisher ran"
pass "cancel of a queued schedule: 200 and the publishers' mark (never posted), 409 publishing_started when a publisher holds it (nothing changed)"

# ---- health and metrics on service.http_port, like every service ----------------------------
curl -fsS "http://127.0.0.1:$METRICS_PORT/readyz" >/dev/null || fail "/readyz is not 200"
curl -fsS "http://127.0.0.1:$METRICS_PORT/healthz" >/dev/null || fail "/healthz is not 200"
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$STACK_DIR/metrics"
for class in 2xx 4xx; do
    n=$(awk -v c="autopost_api_requests_total{class=\"$class\"}" '$1 == c {print $2}' "$STACK_DIR/metrics")
    [[ ${n:-0} -gt 0 ]] || fail "autopost_api_requests_total{class=\"$class\"} is ${n:-missing}"
done
grep -q '^autopost_api_request_seconds_count' "$STACK_DIR/metrics" || fail "no request latency histogram"
pass "/healthz, /readyz and /metrics (answers by class, latency) on service.http_port"
# /readyz reflects NATS too (a queued schedule's cancel needs it), and
# recovers with it; meanwhile such a cancel is a 503 that changes nothing.
stack_nats_kill || fail "could not stop nats-server"
nats_unready() { [[ $(curl -sS -o "$OUT" -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/readyz") == 503 ]] && grep -qi nats "$OUT"; }
stack_wait_for nats_unready >/dev/null || fail "/readyz did not report NATS down: $(cat "$OUT")"
stack_nats_start || fail "could not restart nats-server"
stack_wait_for curl -fsS -o /dev/null "http://127.0.0.1:$METRICS_PORT/readyz" >/dev/null ||
    fail "/readyz did not recover with NATS"
pass "/readyz is 503 naming NATS while nats-server is down, 200 again once it is back"

# ---- least privilege ----------------------------------------------------------------------
deny() {
    local out
    out=$(psql "$API_DSN" -v ON_ERROR_STOP=1 -XAtq -c "$1" 2>&1) && fail "api_login was allowed: $1"
    [[ $out == *"permission denied"* ]] || fail "api_login: '$1' failed, but not for lack of privilege: $out"
}
deny "SELECT credentials FROM social_accounts"
deny "UPDATE social_accounts SET tenant_id = '$B'"
deny "INSERT INTO api_keys (tenant_id, key_prefix, key_hash) VALUES ('$A', 'apk_', sha256('x'))"
deny "UPDATE api_keys SET revoked_at = NULL"
deny "SELECT name FROM api_keys"
deny "UPDATE posts SET text = 'defaced'"
deny "UPDATE post_schedules SET account_id = '$XB'"
deny "DELETE FROM post_schedules"
deny "INSERT INTO tenants (name) VALUES ('intruder')"
deny "SELECT * FROM schema_migrations"
deny "SELECT secret_sealed FROM webhook_endpoints"
deny "UPDATE webhook_endpoints SET url = 'https://elsewhere.example/'"
deny "SELECT body FROM webhook_deliveries"
deny "UPDATE webhook_deliveries SET state = 'delivered'"
deny "DELETE FROM webhook_deliveries"
pass "api_login (autopost_api) served all of the above and may not read credentials, mint or unrevoke keys, repoint schedules, read webhook secrets or event bodies, record deliveries"

e2e_finish
pass "autopost-api"
