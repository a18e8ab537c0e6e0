#!/usr/bin/env bash
# /healthz, /readyz and /metrics of the three services: probes answer, the
# counters add up to exactly what happened to 100 posts, garbage is counted,
# the dispatcher's terminal transitions add up to PostgreSQL's statuses
# through a reauth cascade, and readiness follows PostgreSQL going away and
# coming back.
source "$(dirname "$0")/lib.sh"

# A slow sandbox and few calls in flight keep jobs waiting in the consumer for
# a while, so the lag gauges have something to show.
SVC_CONCURRENCY=4
e2e_begin --latency-ms 300

# Each service gets its own port through its own copy of the config.
declare -A PORT=()
SERVICES=(scheduler dispatcher publisher-facebook)
for svc in "${SERVICES[@]}"; do
    PORT[$svc]=$(stack_free_port) || fail "no free port"
    {
        cat "$AUTOPOST_CONFIG"
        printf 'service:\n  http_bind: 127.0.0.1\n  http_port: %s\n' "${PORT[$svc]}"
    } >"$STACK_DIR/$svc.yaml"
done

# http_code SERVICE PATH: the HTTP status of one GET.
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:${PORT[$1]}$2"; }
http_is() { [[ $(http_code "$1" "$2") == "$3" ]]; }
scrape() { curl -fsS --max-time 5 "http://127.0.0.1:${PORT[$1]}/metrics"; }
# metric SERVICE SERIES: the value of one series, written exactly as exposed.
metric() { scrape "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }'; }
metric_is() { [[ $(metric "$1" "$2") == "$3" ]]; }
# metric_sum SERVICE PREFIX: the sum of every series whose text starts with PREFIX.
metric_sum() { scrape "$1" | awk -v p="$2" 'index($1, p) == 1 { n += $2 } END { print n + 0 }'; }
wait_metric() {
    stack_wait_for metric_is "$@" >/dev/null ||
        fail "$1: $2 is '$(metric "$1" "$2" || true)', expected $3"
}

for svc in "${SERVICES[@]}"; do svc_start "$svc" --config "$STACK_DIR/$svc.yaml"; done

# ---- probes ------------------------------------------------------------------
for svc in "${SERVICES[@]}"; do
    stack_wait_for http_is "$svc" /healthz 200 >/dev/null || fail "$svc: /healthz is not 200"
    stack_wait_for http_is "$svc" /readyz 200 >/dev/null ||
        fail "$svc: /readyz is not 200: $(curl -s "http://127.0.0.1:${PORT[$svc]}/readyz")"
    [[ $(http_code "$svc" /nope) == 404 ]] || fail "$svc: unknown path is not 404"
    ct=$(curl -fsS -o /dev/null -w '%{content_type}' "http://127.0.0.1:${PORT[$svc]}/metrics")
    [[ $ct == *version=0.0.4* ]] || fail "$svc: /metrics content type is '$ct'"
    text=$(scrape "$svc") || fail "$svc: /metrics failed"
    grep -q "^autopost_build_info{service=\"$svc\",version=\"[^\"]*\"} 1$" <<<"$text" ||
        fail "$svc: no autopost_build_info"
    wait_metric "$svc" autopost_nats_connected 1
done
pass "probes answer on all three services"

# ---- 100 posts -----------------------------------------------------------------
total=$(seed_scenario 10 5 2 "$(rfc3339_in 2)")
[[ $total -eq 100 ]] || fail "seeded $total schedules, expected 100"

jobs_lag() {
    local q='{stream="AUTOPOST_JOBS",consumer="publisher-facebook"}'
    (($(metric publisher-facebook "autopost_consumer_pending$q") +
        $(metric publisher-facebook "autopost_consumer_ack_pending$q") > 0))
}
stack_wait_for jobs_lag >/dev/null || fail "publisher never reported consumer lag while busy"

SVC_QUIET=1 svc_wait_terminal 100 300 || fail "not every schedule reached a final state"
[[ $(svc_count_status published) -eq 100 ]] || fail "not every schedule was published"

wait_metric scheduler autopost_jobs_claimed_total 100
wait_metric scheduler autopost_jobs_published_total 100
wait_metric scheduler autopost_jobs_rejected_total 0
(($(metric scheduler autopost_scheduler_tick_seconds_count) > 0)) || fail "no scheduler tick observed"

fb='platform="facebook"'
wait_metric publisher-facebook "autopost_publisher_outcomes_total{$fb,outcome=\"published\"}" 100
wait_metric publisher-facebook "autopost_publisher_acks_total{$fb}" 100
wait_metric publisher-facebook "autopost_platform_call_seconds_count{$fb,outcome=\"ok\"}" 100
[[ $(metric_sum publisher-facebook autopost_platform_call_seconds_count) -eq 100 ]] ||
    fail "platform calls: $(metric_sum publisher-facebook autopost_platform_call_seconds_count), expected 100"
wait_metric publisher-facebook "autopost_publisher_naks_total{$fb}" 0
wait_metric publisher-facebook "autopost_publisher_terms_total{$fb}" 0
wait_metric publisher-facebook "autopost_rate_limit_waits_total{$fb}" 0
wait_metric publisher-facebook "autopost_publisher_in_flight{$fb}" 0

wait_metric dispatcher 'autopost_results_applied_total{outcome="published"}' 100
wait_metric dispatcher 'autopost_results_applied_total{outcome="failed"}' 0
batches=$(metric dispatcher autopost_dispatcher_batches_total)
((batches >= 1)) || fail "dispatcher counted no batch"
wait_metric dispatcher autopost_dispatcher_batch_seconds_count "$batches"
# Each published row wrote one event; the dispatcher's relay relayed them all.
wait_metric dispatcher 'autopost_events_relayed_total{type="schedule.published"}' 100
wait_metric dispatcher autopost_events_relay_delay_seconds_count 100
wait_metric dispatcher autopost_events_unrelayed 0
wait_metric dispatcher autopost_events_relay_lag_seconds 0
wait_metric dispatcher autopost_events_relay_duplicates_total 0

# Lag drains back to zero (refreshed every few seconds by each service).
wait_metric publisher-facebook \
    'autopost_consumer_pending{stream="AUTOPOST_JOBS",consumer="publisher-facebook"}' 0
wait_metric publisher-facebook \
    'autopost_consumer_ack_pending{stream="AUTOPOST_JOBS",consumer="publisher-facebook"}' 0
wait_metric dispatcher 'autopost_consumer_pending{stream="AUTOPOST_RESULTS",consumer="dispatcher"}' 0
wait_metric dispatcher \
    'autopost_consumer_ack_pending{stream="AUTOPOST_RESULTS",consumer="dispatcher"}' 0
pass "counters match 100 published posts"

# ---- garbage is counted ----------------------------------------------------------
head -c 300 /dev/urandom >"$STACK_DIR/garbage.bin"
nats_pub autopost.jobs.facebook "$STACK_DIR/garbage.bin"
nats_pub autopost.results.facebook "$STACK_DIR/garbage.bin"
wait_metric publisher-facebook "autopost_publisher_poison_total{$fb}" 1
wait_metric publisher-facebook "autopost_publisher_terms_total{$fb}" 1
wait_metric dispatcher autopost_results_poison_total 1
pass "poison counted"

# ---- every terminal transition the dispatcher commits is counted --------------------
# Issue 23 §3: 20 pages, 2 with expired tokens, 10 posts each, 10% of calls
# answered 5xx. The first refused call of an expired page fails its row
# (a result) and the account mark fails the page's other open rows without a
# result of their own (the reauth cascade); half of each expired page's posts
# are due tomorrow, so only the cascade can fail them. Summed over causes,
# autopost_dispatcher_terminal_total must equal PostgreSQL's count of every
# terminal status; autopost_results_applied_total alone sees only results.
sandbox_post /_sandbox/config '{"error_rate_5xx":0.1}' >/dev/null || fail "sandbox config"
dir=$STACK_DIR/cascade
mkdir -p "$dir"
for p in $(seq 1 20); do
    token=good-token-$p
    ((p <= 2)) && token=expired-token-$p
    printf '{"platform":"facebook","external_id":"%d","token":"%s","name":"cascade %d"}\n' \
        $((300000 + p)) "$token" "$p"
done >"$dir/accounts.jsonl"
svc_ctl accounts import "$dir/accounts.jsonl" >"$dir/ids.txt" || fail "accounts import"
tomorrow=$(rfc3339_in 86400)
p=0
while read -r account; do
    p=$((p + 1))
    for n in $(seq 1 10); do
        at=now
        ((p <= 2 && n > 5)) && at=$tomorrow
        printf '{"account_id":"%s","at":"%s","text":"cascade post %d of page %d"}\n' \
            "$account" "$at" "$n" "$p"
    done
done <"$dir/ids.txt" >"$dir/schedules.jsonl"
svc_ctl import "$dir/schedules.jsonl" >/dev/null || fail "import"
SVC_QUIET=1 svc_wait_terminal 300 300 || fail "not every schedule of the cascade run ended"
expired_failed=$(stack_psql -c "SELECT count(*) FROM post_schedules s JOIN social_accounts a
    ON a.id = s.account_id WHERE a.external_id IN ('300001', '300002') AND s.status = 'failed'")
[[ $expired_failed == 20 ]] || fail "$expired_failed of the expired pages' 20 rows failed"

# terminal_sum STATUS: the dispatcher's count over every cause.
terminal_sum() { metric_sum dispatcher "autopost_dispatcher_terminal_total{status=\"$1\","; }
terminal_matches() {
    local st
    for st in published failed unconfirmed cancelled; do
        [[ $(terminal_sum "$st") == $(svc_count_status "$st") ]] || return 1
    done
}
if ! stack_wait_for terminal_matches >/dev/null; then
    for st in published failed unconfirmed cancelled; do
        echo "$st: PostgreSQL $(svc_count_status "$st"), dispatcher $(terminal_sum "$st")" >&2
    done
    fail "autopost_dispatcher_terminal_total does not add up to PostgreSQL's statuses"
fi
cascade=$(metric dispatcher 'autopost_dispatcher_terminal_total{status="failed",cause="reauth_cascade"}')
((cascade >= 10)) || fail "only $cascade rows failed by the reauth cascade (the 10 due tomorrow at least)"
echo "ok: published $(svc_count_status published), failed $(svc_count_status failed) = $cascade by" \
    "the cascade + $(metric dispatcher 'autopost_dispatcher_terminal_total{status="failed",cause="result"}')" \
    "by results (results_applied says $(metric dispatcher 'autopost_results_applied_total{outcome="failed"}'))"
# Every event the transitions wrote is counted as relayed, type by type.
events_match() {
    local t
    for t in schedule.published schedule.failed schedule.unconfirmed schedule.cancelled \
        account.reauth_required; do
        [[ $(metric dispatcher "autopost_events_relayed_total{type=\"$t\"}") == \
            $(stack_psql -c "SELECT count(*) FROM events WHERE type = '$t'") ]] || return 1
    done
}
stack_wait_for events_match >/dev/null ||
    fail "autopost_events_relayed_total does not match the events table: $(stack_psql -c \
        "SELECT string_agg(type || '=' || n, ' ') FROM (SELECT type, count(*) n FROM events GROUP BY 1) c")"
sandbox_post /_sandbox/config '{"error_rate_5xx":0}' >/dev/null || fail "sandbox config"
pass "terminal transitions add up to PostgreSQL's counts through a reauth cascade"

# ---- readiness follows PostgreSQL ----------------------------------------------------
stack_pg_stop || fail "could not stop PostgreSQL"
for svc in dispatcher scheduler; do
    stack_wait_for http_is "$svc" /readyz 503 >/dev/null || fail "$svc: /readyz stayed up without PostgreSQL"
    body=$(curl -s "http://127.0.0.1:${PORT[$svc]}/readyz")
    [[ $body == *postgres* ]] || fail "$svc: /readyz does not name postgres: $body"
    http_is "$svc" /healthz 200 || fail "$svc: /healthz failed during a database outage"
done
http_is publisher-facebook /readyz 200 || fail "publisher depends on PostgreSQL for readiness"
stack_pg_start || fail "could not start PostgreSQL again"
for svc in dispatcher scheduler; do
    stack_wait_for http_is "$svc" /readyz 200 >/dev/null || fail "$svc: /readyz did not recover"
done
pass "readiness follows PostgreSQL"

e2e_finish
pass "health and metrics endpoints"
