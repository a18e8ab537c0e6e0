#!/usr/bin/env bash
# Webhooks (issue 18): events published into AUTOPOST_EVENTS as the outbox
# relay publishes them reach the endpoints of their own tenant only, signed,
# each exactly once per event id as the receiver sees 2xx answers, after the
# receiver's failures and a hang; an endpoint that never answers 2xx is given
# up after webhooks.give_up_after and shows as failing; a private address is
# refused at `webhooks add` and, behind a name, at connect time.
# shellcheck disable=SC2154 # PORT_<name> are set by receiver() with printf -v
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="x"
e2e_begin
tools=$AUTOPOST_BIN/../tests
for t in webhook_receiver publish_event count_connections; do
    [[ -x $tools/$t ]] || fail "missing $tools/$t (build the tests)"
done

T1=00000000-0000-0000-0000-000000000001 # the default tenant
T2=$(stack_psql -c "INSERT INTO tenants (name) VALUES ('second') RETURNING id")
[[ $T2 =~ ^[0-9a-f-]{36}$ ]] || fail "could not make a second tenant: $T2"

HEALTH_PORT=$(stack_free_port) || fail "no free port"
svc_config "service:
  http_port: $HEALTH_PORT
webhooks:
  retry_initial: 100ms
  retry_max: 400ms
  give_up_after: 8s
  timeout: 1s
  allow_private: true"

# receiver NAME PLAN: starts one; sets PORT_<NAME> and its record dir.
receiver() {
    local name=$1 plan=$2 dir=$STACK_DIR/recv-$1
    mkdir -p "$dir"
    "$tools/webhook_receiver" "$dir.port" "$dir" "$plan" >>"$STACK_DIR/logs/recv-$name.log" 2>&1 &
    stack_register_pid $!
    for _ in $(seq 50); do [[ -s $dir.port ]] && break; sleep 0.1; done
    [[ -s $dir.port ]] || fail "receiver $name did not start"
    printf -v "PORT_$name" '%s' "$(cat "$dir.port")"
}
# a: fails twice, hangs past the 1 s timeout, fails again, then takes it.
receiver a "500,hang:2500,503,200"
receiver b "200"
receiver c "500"

add() { svc_ctl webhooks add "$@"; }
read -r WA SA < <(add --tenant "$T1" --url "http://127.0.0.1:$PORT_a/hook" \
    --events schedule.published,schedule.failed) || fail "webhooks add a"
read -r WB SB < <(add --tenant "$T2" --url "http://127.0.0.1:$PORT_b/hook" --events '*') ||
    fail "webhooks add b"
read -r WC _ < <(add --tenant "$T1" --url "http://127.0.0.1:$PORT_c/hook" \
    --events schedule.failed) || fail "webhooks add c"
[[ $SA =~ ^whsec_[0-9a-f]{64}$ && $SB != "$SA" ]] || fail "secrets: '$SA' '$SB'"
[[ $(stack_psql -c "SELECT count(*) FROM webhook_endpoints WHERE secret_sealed::text LIKE '%' || encode(convert_to('$SA', 'UTF8'), 'hex') || '%'") -eq 0 ]] ||
    fail "a secret is stored in clear"
out=$(add --tenant "$T1" --url "http://127.0.0.1:1/x" --events 'Bad,Type' 2>&1) &&
    fail "a bad event type was accepted: $out"
out=$(add --tenant 00000000-0000-0000-0000-0000000000ff --url "http://127.0.0.1:1/x" \
    --events '*' 2>&1) && fail "an unknown tenant was accepted: $out"
[[ $out == *"tenant 00000000-0000-0000-0000-0000000000ff not found"* ]] || fail "unknown tenant: $out"

# Without webhooks.allow_private (production), private addresses are refused.
strict=$STACK_DIR/strict.yaml
sed 's/allow_private: true/allow_private: false/' "$AUTOPOST_CONFIG" >"$strict"
for url in "http://127.0.0.1:$PORT_a/hook" "https://127.0.0.1:$PORT_a/hook" \
    "https://localhost:$PORT_a/hook" "https://169.254.169.254/latest" "https://[::1]/x" \
    "https://10.0.0.8/x"; do
    out=$("$AUTOPOST_BIN/autopostctl" --config "$strict" webhooks add --tenant "$T1" --url "$url" \
        --events '*' 2>&1) && fail "private URL $url accepted without allow_private"
    [[ $out == *"only https"* || $out == *"address not allowed"* ]] || fail "$url: $out"
done
pass "endpoints: secret shown once and sealed; bad types, unknown tenants and private URLs refused"

svc_start webhooks
# Ready = its consumer on AUTOPOST_EVENTS exists (the stream too, made here
# when no relay made it yet).
stack_wait_for curl -fsS "http://127.0.0.1:$HEALTH_PORT/readyz" >/dev/null || fail "webhooks not ready"

# event ID TENANT TYPE: publishes one event as the relay would.
event() {
    local id=$1 tenant=$2 type=$3 f=$STACK_DIR/event-$1.json
    printf '{"id": "%s", "type": "%s", "created_at": "2026-12-06T03:00:00.000Z", "tenant_id": "%s", "data": {"post_id": "p", "schedule": {"id": "s", "status": "published", "error": null}}}' \
        "$id" "$type" "$tenant" >"$f"
    timeout 30 "$tools/publish_event" "$AUTOPOST_NATS_URL" "autopost.events.$tenant.$type" "$id" "$f"
}
E1=018f0000-0000-7000-8000-000000000001
E2=018f0000-0000-7000-8000-000000000002
E3=018f0000-0000-7000-8000-000000000003
E4=018f0000-0000-7000-8000-000000000004
[[ $(event "$E1" "$T1" schedule.published) == stored ]] || fail "publish E1"
[[ $(event "$E2" "$T1" schedule.failed) == stored ]] || fail "publish E2"
[[ $(event "$E3" "$T2" schedule.published) == stored ]] || fail "publish E3"
[[ $(event "$E4" "$T1" schedule.cancelled) == stored ]] || fail "publish E4"
[[ $(event "$E1" "$T1" schedule.published) == duplicate ]] || fail "the relay's retry was stored twice"
# A message whose subject names another tenant than its body: refused.
bad=$STACK_DIR/event-bad.json
sed "s/$T1/$T2/" "$STACK_DIR/event-$E2.json" >"$bad"
timeout 30 "$tools/publish_event" "$AUTOPOST_NATS_URL" "autopost.events.$T1.schedule.failed" \
    018f0000-0000-7000-8000-0000000000bb "$bad" >/dev/null || fail "publish the mismatched event"

# answers DIR EVENT CODE: how many times the receiver answered CODE for EVENT.
answers() {
    local n=0 f
    for f in "$STACK_DIR/recv-$1"/*.meta; do
        [[ -e $f ]] || continue
        grep -qx "event_id=$2" "$f" && grep -qx "answer=$3" "$f" && n=$((n + 1))
    done
    echo "$n"
}
state() { stack_psql -c "SELECT state FROM webhook_deliveries WHERE webhook_id = '$1' AND event_id = '$2'"; }
delivered_both() { [[ $(state "$WA" "$E1") == delivered && $(state "$WA" "$E2") == delivered && $(state "$WB" "$E3") == delivered ]]; }
stack_wait_for delivered_both >/dev/null ||
    fail "not delivered: $(stack_psql -c "SELECT webhook_id, event_id, state, attempts, last_status, last_error FROM webhook_deliveries")"

for e in "$E1" "$E2"; do
    [[ $(answers a "$e" 200) -eq 1 ]] || fail "a: event $e answered 200 $(answers a "$e" 200) times"
    [[ $(answers a "$e" 500) -eq 1 && $(answers a "$e" hang:2500) -eq 1 && $(answers a "$e" 503) -eq 1 ]] ||
        fail "a: event $e was not retried through 500, a hang and 503"
    [[ $(stack_psql -c "SELECT attempts FROM webhook_deliveries WHERE webhook_id = '$WA' AND event_id = '$e'") -eq 4 ]] ||
        fail "a: event $e took other than 4 attempts"
done
[[ $(answers b "$E3" 200) -eq 1 ]] || fail "b: event $E3 answered 200 $(answers b "$E3" 200) times"
# Tenant isolation and subscriptions: b saw only its tenant's event, a never
# saw the other tenant's nor the type it did not subscribe to.
seen_b=$(cat "$STACK_DIR"/recv-b/*.meta | sed -n 's/^event_id=//p' | sort -u)
seen_a=$(cat "$STACK_DIR"/recv-a/*.meta | sed -n 's/^event_id=//p' | sort -u)
[[ $seen_b == "$E3" ]] || fail "b received other events than its tenant's: $seen_b"
[[ $seen_a == "$(printf '%s\n%s' "$E1" "$E2")" ]] ||
    fail "a received other events than its tenant's subscribed ones: $seen_a"
[[ $(stack_psql -c "SELECT count(*) FROM webhook_deliveries WHERE event_id = '018f0000-0000-7000-8000-0000000000bb'") -eq 0 ]] ||
    fail "the mismatched event made deliveries"
[[ $(log_count webhooks event_refused) -ge 1 ]] || fail "the mismatched event was not logged as refused"
pass "each event delivered exactly once per endpoint after 500, a hang and 503; tenants kept apart"

# verify DIR SECRET: every recorded request carries a valid signature over
# "<t>.<raw body>" and the headers a receiver needs.
verify() {
    local dir=$STACK_DIR/recv-$1 secret=$2 meta sig t v1 want n=0
    for meta in "$dir"/*.meta; do
        sig=$(sed -n 's/^signature=//p' "$meta")
        [[ $sig =~ ^t=([0-9]+),v1=([0-9a-f]{64})$ ]] || fail "$meta: signature header '$sig'"
        t=${BASH_REMATCH[1]} v1=${BASH_REMATCH[2]}
        want=$( (printf '%s.' "$t"; cat "${meta%.meta}.body") |
            openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
        [[ $v1 == "$want" ]] || fail "$meta: signature does not verify"
        (($(date +%s) - t < 300)) || fail "$meta: t=$t is not recent"
        grep -qx 'content_type=application/json' "$meta" || fail "$meta: content type"
        ev=$STACK_DIR/event-$(sed -n 's/^event_id=//p' "$meta").json
        [[ ! -e $ev ]] || cmp -s "${meta%.meta}.body" "$ev" ||
            fail "$meta: the body is not the event's bytes"
        n=$((n + 1))
    done
    echo "$n"
}
[[ $(verify a "$SA") -ge 8 ]] || fail "a: fewer requests than expected"
[[ $(verify b "$SB") -ge 1 ]] || fail "b: no requests"
# The wrong secret does not verify (the check above is not vacuous).
metas=("$STACK_DIR"/recv-b/*.meta)
f=${metas[0]}
t=$(sed -n 's/^signature=t=\([0-9]*\),.*/\1/p' "$f")
[[ $( (printf '%s.' "$t"; cat "${f%.meta}.body") | openssl dgst -sha256 -hmac "$SA" | awk '{print $NF}') != \
    "$(sed -n 's/^signature=.*v1=//p' "$f")" ]] || fail "another endpoint's secret verifies b's delivery"
pass "every request signed t=<unix>,v1=HMAC-SHA256(secret, t.body) over the event's exact bytes"

# c answers 500 forever: failed after give_up_after (8 s), endpoint failing.
gave_up() { [[ $(state "$WC" "$E2") == failed ]]; }
stack_wait_for gave_up >/dev/null || fail "c was not given up: $(state "$WC" "$E2")"
age=$(stack_psql -c "SELECT extract(epoch FROM last_attempt_at - created_at)::int FROM webhook_deliveries WHERE webhook_id = '$WC'")
((age >= 8)) || fail "c given up after ${age}s, before give_up_after"
[[ $(answers c "$E2" 500) -ge 4 ]] || fail "c: too few attempts before giving up"
[[ -n $(stack_psql -c "SELECT failing_since FROM webhook_endpoints WHERE id = '$WC' AND failing_since IS NOT NULL") ]] ||
    fail "c is not marked failing"
out=$(svc_ctl status) || fail "status failed"
[[ $out == *"failing webhooks"*"$WC"* ]] || fail "status does not name the failing webhook: $out"
[[ $out != *"$WA"* ]] || fail "status names a healthy webhook as failing"
out=$(svc_ctl status --json) || fail "status --json failed"
[[ $(jq -r '.failing_webhooks[].id' <<<"$out") == "$WC" ]] || fail "status --json: $out"
out=$(svc_ctl webhooks deliveries "$WC") || fail "deliveries of c"
[[ $out =~ failed\ +[0-9]+\ +500\ +HTTP\ 500 ]] || fail "deliveries of c: $out"
out=$(svc_ctl webhooks deliveries "$WA") || fail "deliveries of a"
[[ $out =~ delivered\ +4\ +200 ]] || fail "deliveries of a: $out"
out=$(svc_ctl webhooks list --tenant "$T2") || fail "list --tenant"
[[ $out == *"$WB"* && $out != *"$WA"* ]] || fail "list --tenant $T2: $out"
pass "an endpoint that never answers 2xx is given up after the window and shows as failing"

# The whole way: a post published on X becomes an event in the dispatcher's
# outbox, its relay publishes it, and a (tenant 1's) receives it, signed.
token=x-good-token
user=$(curl -fsS -H "Authorization: Bearer $token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
account=$(svc_ctl accounts add --platform x --external-id "$user" --token "$token") ||
    fail "accounts add"
# The health port is the webhook service's: the others get none.
others=$STACK_DIR/others.yaml
sed "s/^  http_port: $HEALTH_PORT\$/  http_port: 0/" "$AUTOPOST_CONFIG" >"$others"
AUTOPOST_CONFIG=$others svc_start scheduler
AUTOPOST_CONFIG=$others svc_start dispatcher
AUTOPOST_CONFIG=$others svc_start publisher-x
sid=$(svc_ctl schedule --account "$account" --at now --text "heard by webhook") || fail "schedule"
relayed() {
    [[ $(stack_psql -c "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '$WA'
                         AND event_type = 'schedule.published' AND state = 'delivered'
                         AND body LIKE '%$sid%'") -eq 1 ]]
}
stack_wait_for relayed >/dev/null ||
    fail "the published schedule's event did not reach a: $(stack_psql -c "SELECT event_type, state, attempts, last_error FROM webhook_deliveries WHERE webhook_id = '$WA'")"
[[ $(verify a "$SA") -ge 9 ]] || fail "a: the relayed event's deliveries do not verify"
[[ $(stack_psql -c "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '$WB' AND body LIKE '%$sid%'") -eq 0 ]] ||
    fail "tenant 2's endpoint got tenant 1's relayed event"
pass "a real publish: relayed from the outbox, delivered signed to its tenant's endpoint only"

# At connect time: a name that resolves to loopback is refused without
# allow_private (a receiver behind https://localhost is never connected to).
svc_kill webhooks TERM || fail "webhooks did not stop cleanly"
"$tools/count_connections" "$STACK_DIR/listener.port" "$STACK_DIR/listener.count" \
    >>"$STACK_DIR/logs/listener.log" 2>&1 &
stack_register_pid $!
for _ in $(seq 50); do [[ -s $STACK_DIR/listener.port ]] && break; sleep 0.1; done
lport=$(cat "$STACK_DIR/listener.port")
read -r WD _ < <(add --tenant "$T2" --url "https://localhost:$lport/hook" --events '*') ||
    fail "webhooks add d"
cp "$strict" "$AUTOPOST_CONFIG"
svc_start webhooks
stack_wait_for curl -fsS "http://127.0.0.1:$HEALTH_PORT/readyz" >/dev/null || fail "webhooks not ready"
E5=018f0000-0000-7000-8000-000000000005
[[ $(event "$E5" "$T2" schedule.failed) == stored ]] || fail "publish E5"
refused() { [[ $(stack_psql -c "SELECT last_error FROM webhook_deliveries WHERE webhook_id = '$WD'") == "address not allowed" ]]; }
stack_wait_for refused >/dev/null ||
    fail "d: $(stack_psql -c "SELECT state, attempts, last_error FROM webhook_deliveries WHERE webhook_id = '$WD'")"
[[ $(cat "$STACK_DIR/listener.count") -eq 0 ]] || fail "the service connected to a loopback endpoint"
svc_ctl webhooks remove "$WD" >/dev/null || fail "webhooks remove"
[[ $(stack_psql -c "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '$WD'") -eq 0 ]] ||
    fail "remove left deliveries behind"
pass "a private address behind a name is refused at connect time, nothing reaches it"

metrics=$(curl -fsS "http://127.0.0.1:$HEALTH_PORT/metrics") || fail "no /metrics"
[[ $metrics == *'autopost_webhook_deliveries_total{outcome="retried"}'* &&
    $metrics == *'autopost_webhook_deliveries_total{outcome="failed"}'* ]] || fail "metrics: $metrics"
curl -fsS "http://127.0.0.1:$HEALTH_PORT/readyz" >/dev/null || fail "/readyz is not ready"
e2e_finish
pass "webhooks"
