#!/usr/bin/env bash
# autopost benchmark: starts the whole local stack (as the demo does) per
# profile, measures, prints one table and writes JSON.
#
#   bench/run.sh                       every profile
#   bench/run.sh seed overhead         some of them
#   BENCH_OUT=/tmp/b.json bench/run.sh
#   BENCH_TLS=1 bench/run.sh seed overhead    the sandbox serves https (a
#             throwaway self-signed certificate the publisher trusts through
#             platforms.facebook.ca_file): the same profiles with TLS's cost
#
# Profiles (see bench/README.md for what each figure means and the history):
#   seed      3,000 posts due in one second, sandbox latency 100 ms, cap C
#   overhead  50,000 posts due at once, sandbox answers at once: jobs/s, CPU, RSS
#             (BENCH_OVERHEAD_PER_ACCOUNT=1: one post each of 50,000 accounts)
#   scale     1,000,000 future schedules: due-row query and per-tick cost
#   inflight  sandbox latency 2 s, 2,000 calls in flight from one replica
#   floor     the brokers alone doing one job's writes: CPU per job of
#             nats-server and PostgreSQL with nothing else running
#   api       posts/s created through POST /v1/posts (keys, validation,
#             idempotency keys) and webhook events/s relayed and delivered
#   media     one 200 MiB video through one X publisher (ranged reads, the
#             chunked upload), then one LinkedIn publisher (Videos API):
#             each publisher's peak RSS before and after, time and bytes/s,
#             every byte checked at the sandbox
#   apiseed   the seed burst created through POST /v1/posts by 500 tenants
#             (BENCH_APISEED_AT=due|now): makespan against the seed's ideal
#   cluster   the overhead work on a 3-node JetStream cluster, R3 streams:
#             what replication costs nats-server per job
#   nodeloss  the seed burst on the R3 cluster, once as is and once with the
#             publisher's NATS node killed a third in: time to all terminal
#
# Figures are measured on this machine and printed; nothing here asserts a
# time. Targets live in bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/setup.sh >/dev/null
BUILD=${AUTOPOST_BUILD:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DAUTOPOST_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
export AUTOPOST_BIN=$BUILD/bin AUTOPOST_SRC=$ROOT
source "$ROOT/tests/fixtures/stack.sh"
source "$ROOT/tests/fixtures/services.sh"
source "$ROOT/tests/fixtures/seed.sh"
source "$ROOT/tests/fixtures/cluster.sh"
# shellcheck source=media.sh
source "$ROOT/bench/media.sh"

OUT=${BENCH_OUT:-$ROOT/bench/results/latest.json}
mkdir -p "$(dirname "$OUT")"
CLK_TCK=$(getconf CLK_TCK)
declare -a ROWS=() JSON=()

# The table and the JSON name the transport, so a TLS run's figures cannot
# be mistaken for a plain one's.
TRANSPORT=http
[[ ${BENCH_TLS:-0} == 1 ]] && TRANSPORT=https
row() { ROWS+=("$(printf '%-9s %-34s %14s  %s' "$1" "$2" "$3" "${4:-}")"); JSON+=("{\"profile\":\"$1\",\"metric\":\"$2\",\"value\":\"$3\",\"note\":\"${4:-}\"}"); }

# cpu_seconds PID...: user+system CPU of the processes so far.
cpu_seconds() {
    local total=0 pid f
    for pid in "$@"; do
        f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        f=${f##*) }
        read -r -a a <<<"$f"
        total=$((total + a[11] + a[12]))
    done
    awk -v t="$total" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'
}

# peak_rss_mb PID: VmHWM of a process in MiB.
peak_rss_mb() {
    awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# postgres_pids: this stack's postmaster and its children (backends and
# background workers), not every postgres process on the machine: other
# stacks (parallel test runs, other sessions) would count otherwise.
postgres_pids() {
    local pm
    pm=$(head -n 1 "$STACK_DIR/pg/postmaster.pid" 2>/dev/null) || return 0
    [[ $pm =~ ^[0-9]+$ ]] || return 0
    printf '%s %s' "$pm" "$(pgrep -P "$pm" | tr '\n' ' ')"
}

# pg_cpu_mark: remembers every postgres process's CPU so far (the stack's own); pg_cpu_since
# then sums what all postgres processes spent after the mark, counting
# backends that connected later (the services' own) from zero.
declare -gA PG_CPU0=()
# nats-server's message and byte counters (in, out), from its monitoring
# port: how many messages a job costs and how big they are, beside what
# they cost in CPU.
nats_msgs() {
    curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/varz" |
        jq -r '"\(.in_msgs) \(.out_msgs) \(.in_bytes) \(.out_bytes)"'
}
msgs_per_job() { # before-counters, jobs
    local a b
    read -r a b _ <<<"$1"
    nats_msgs | awk -v a="$a" -v b="$b" -v n="$2" '{ printf "%.2f / %.2f", ($1 - a) / n, ($2 - b) / n }'
}
bytes_per_job() { # before-counters, jobs
    local c d
    read -r _ _ c d <<<"$1"
    nats_msgs | awk -v c="$c" -v d="$d" -v n="$2" '{ printf "%.0f / %.0f", ($3 - c) / n, ($4 - d) / n }'
}

pg_cpu_mark() {
    local pid
    PG_CPU0=()
    for pid in $(postgres_pids); do PG_CPU0[$pid]=$(cpu_seconds "$pid"); done
}
pg_cpu_since() {
    local pid total=0
    for pid in $(postgres_pids); do
        total=$(awk -v t="$total" -v a="$(cpu_seconds "$pid")" -v b="${PG_CPU0[$pid]:-0}" 'BEGIN { printf "%.2f", t + a - b }')
    done
    printf '%s' "$total"
}

# begin_stack SANDBOX_FLAGS...: a fresh stack for one profile.
begin_stack() {
    stack_start >/dev/null
    SVC_SANDBOX_TLS=${BENCH_TLS:-0} svc_sandbox_start "$@"
    SVC_ACK_WAIT=${BENCH_ACK_WAIT:-30s} SVC_TIMEOUT=${BENCH_TIMEOUT:-10s} svc_config
    svc_ctl migrate >/dev/null
    svc_ctl streams apply >/dev/null
}

# BENCH_STATEMENTS=FILE: the overhead profile resets PostgreSQL's statement
# statistics when the burst starts and writes the statements that took the
# most server time, nested ones (triggers) included, to FILE at its end.
statements_reset() {
    [[ -n ${BENCH_STATEMENTS:-} ]] || return 0
    stack_psql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
    stack_psql -c "SELECT pg_stat_statements_reset()" >/dev/null
}
statements_dump() {
    [[ -n ${BENCH_STATEMENTS:-} ]] || return 0
    stack_psql -F $'\t' -c "SELECT round(total_exec_time::numeric, 1) AS ms, calls, rows,
        regexp_replace(left(query, 160), '\s+', ' ', 'g')
        FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25" > "$BENCH_STATEMENTS"
}

end_stack() {
    svc_stop_all >/dev/null 2>&1 || true
    stack_stop
}

# wait_all_terminal TOTAL [TIMEOUT_S]: returns when every row is final
# (none pending, queued or retrying; TOTAL is kept for the callers).
# Figures come from the rows' own timestamps, so polling less often changes
# no figure, only how much CPU the polling takes from the pipeline; and the
# poll counts through the partial indexes of the unfinished rows (0028), not
# by reading every finished one, as that CPU lands in PostgreSQL's figure.
wait_all_terminal() {
    local deadline=$(($(date +%s) + ${2:-900})) left
    while :; do
        left=$(stack_psql -c "SELECT (SELECT count(*) FROM post_schedules WHERE status = 'pending')
            + (SELECT count(*) FROM post_schedules WHERE status IN ('queued', 'retrying'))")
        ((left == 0)) && return 0
        (($(date +%s) < deadline)) || { echo "bench: $left of $1 rows unfinished" >&2; return 1; }
        sleep 2
    done
}

# lateness_figures: "p50 p99 max makespan" from sandbox arrivals vs due times.
lateness_figures() {
    report_load_sandbox
    stack_psql -F ' ' -c "
WITH l AS (SELECT sp.accepted_at_ms - (extract(epoch FROM s.scheduled_at) * 1000)::bigint AS late
             FROM post_schedules s JOIN sandbox_posts sp ON sp.post_id = s.external_post_id)
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY late), percentile_disc(0.99) WITHIN GROUP (ORDER BY late),
       max(late), min(late) FROM l"
}

# sandbox_connections_row PROFILE: connections the sandbox accepted against
# the requests it served (the bench's own few admin calls included): how
# much the publisher reuses connections, i.e. how many TLS handshakes.
sandbox_connections_row() {
    row "$1" "sandbox connections / requests" "$(sandbox_stat connections) / $(sandbox_stat requests)" \
        "each connection a handshake over https"
}

profile_seed() {
    local C=${BENCH_SEED_CAP:-64} latency=100
    begin_stack --latency-ms "$latency"
    sed -i "s/concurrency: [0-9]*/concurrency: $C/" "$AUTOPOST_CONFIG"
    local at total t0 t_done
    at=$(rfc3339_in 6)
    total=$(seed_scenario 500 3 2 "$at")
    svc_start dispatcher
    svc_start publisher-facebook
    svc_start scheduler
    wait_all_terminal "$total"
    t_done=$(stack_psql -c "SELECT (extract(epoch FROM max(updated_at)) * 1000)::bigint - (extract(epoch FROM min(scheduled_at)) * 1000)::bigint FROM post_schedules")
    read -r p50 p99 max first <<<"$(lateness_figures)"
    local ideal
    ideal=$(awk -v n="$total" -v l="$latency" -v c="$C" 'BEGIN { printf "%d", n * l / c }')
    row seed "posts / cap C per platform" "$total / $C" "one platform: Facebook stands in for both"
    row seed "makespan (ms)" "$max" "last sandbox arrival - due time"
    row seed "ideal makespan (ms)" "$ideal" "posts x latency / C"
    row seed "makespan / ideal" "$(awk -v a="$max" -v b="$ideal" 'BEGIN { printf "%.2f", a / b }')" "target <= 1.15"
    row seed "first post late (ms)" "$first" "target <= 1000"
    row seed "lateness p50 / p99 / max (ms)" "$p50 / $p99 / $max"
    row seed "all rows terminal after (ms)" "$t_done"
    sandbox_connections_row seed
    end_stack
}

profile_overhead() {
    local n=${BENCH_OVERHEAD_POSTS:-50000} users accounts
    begin_stack --latency-ms 0
    sed -i "s/concurrency: [0-9]*/concurrency: 256/; s/max_ack_pending: [0-9]*/max_ack_pending: 4096/" "$AUTOPOST_CONFIG"
    # BENCH_OVERHEAD_PER_ACCOUNT posts per account (default 25: 2,000
    # accounts); 1 makes the burst one post each of 50,000 accounts.
    local per=${BENCH_OVERHEAD_PER_ACCOUNT:-25}
    users=$((n / (2 * per)))
    local at total
    at=$(rfc3339_in 20)
    total=$(seed_scenario "$users" "$per" 2 "$at")
    # Statistics as a table in service has them (the floor does the same):
    # a table filled a moment ago has none, and the claim's planner, taking
    # due rows for rare, read every due row for each batch (bench/README.md
    # 2026-12-07, second entry).
    stack_psql -c "VACUUM ANALYZE" >/dev/null
    svc_start dispatcher
    svc_start publisher-facebook
    statements_reset
    svc_start scheduler
    local c0 p0 d0 n0 s0
    pg_cpu_mark
    s0=$(cpu_seconds "$SANDBOX_PID")
    c0=$(cpu_seconds "${SVC_PIDS[scheduler]}") p0=$(cpu_seconds "${SVC_PIDS[publisher-facebook]}")
    d0=$(cpu_seconds "${SVC_PIDS[dispatcher]}") n0=$(cpu_seconds "$STACK_NATS_PID")
    local m0
    m0=$(nats_msgs)
    wait_all_terminal "$total"
    local secs rate
    secs=$(stack_psql -c "SELECT extract(epoch FROM max(updated_at) - min(scheduled_at)) FROM post_schedules")
    rate=$(awk -v n="$total" -v s="$secs" 'BEGIN { printf "%d", n / s }')
    row overhead "posts" "$total" "sandbox answers at once"
    row overhead "end-to-end jobs/s (due -> published)" "$rate" "target >= 10000"
    row overhead "jobs delivered more than once" "$(stack_psql -c "SELECT count(DISTINCT schedule_id) FROM schedule_attempts WHERE attempt > 1")" "0 in a run without faults"
    # The rate is the last row's: a few stragglers halve it. Show them.
    row overhead "finished after due p50 / p99 / max (ms)" "$(stack_psql -F ' / ' -c "
        SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY d)::int, percentile_disc(0.99) WITHIN GROUP (ORDER BY d)::int, max(d)::int
          FROM (SELECT extract(epoch FROM updated_at - scheduled_at) * 1000 AS d FROM post_schedules) x")" "a slow tail shows as max far above p99"
    local name pid c
    for name in scheduler publisher-facebook dispatcher; do
        pid=${SVC_PIDS[$name]}
        case $name in scheduler) c=$c0 ;; publisher-facebook) c=$p0 ;; dispatcher) c=$d0 ;; esac
        row overhead "$name CPU s / 1000 jobs" "$(awk -v a="$(cpu_seconds "$pid")" -v b="$c" -v n="$total" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')"
        row overhead "$name peak RSS (MiB)" "$(peak_rss_mb "$pid")" "target <= 50"
    done
    row overhead "nats-server CPU s / 1000 jobs" "$(awk -v a="$(cpu_seconds "$STACK_NATS_PID")" -v b="$n0" -v n="$total" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')"
    row overhead "nats-server peak RSS (MiB)" "$(peak_rss_mb "$STACK_NATS_PID")"
    row overhead "nats messages in / out per job" "$(msgs_per_job "$m0" "$total")" "compare floor"
    row overhead "nats payload bytes in / out per job" "$(bytes_per_job "$m0" "$total")" "compare floor"
    row overhead "postgres CPU s / 1000 jobs" "$(awk -v a="$(pg_cpu_since)" -v n="$total" 'BEGIN { printf "%.3f", a * 1000 / n }')" "the stack's postgres processes"
    local app bpid
    while read -r app bpid; do
        row overhead "  of which $app's backend" "$(awk -v a="$(cpu_seconds "$bpid")" -v b="${PG_CPU0[$bpid]:-0}" -v n="$total" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')"
    # The dispatcher's two connections share a name (relay.c); the relay's
    # last statement reads or marks events.
    done < <(stack_psql -F ' ' -c "SELECT application_name || CASE WHEN query LIKE '%relayed_at%'
        THEN '-relay' ELSE '' END, pid FROM pg_stat_activity WHERE application_name LIKE 'autopost-%' ORDER BY 1")
    local maxrss=0 r pid2
    for pid2 in $(postgres_pids); do r=$(peak_rss_mb "$pid2"); [[ $r == "?" ]] || maxrss=$(awk -v a="$maxrss" -v b="$r" 'BEGIN { print (b > a) ? b : a }'); done
    row overhead "postgres largest process RSS (MiB)" "$maxrss" "shared buffers counted per process"
    row overhead "sandbox CPU s / 1000 jobs" "$(awk -v a="$(cpu_seconds "$SANDBOX_PID")" -v b="$s0" -v n="$total" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')" "the platform's imitation, on the same cores"
    sandbox_connections_row overhead
    statements_dump
    end_stack
}

# claim_query_ms: median execution time of the scheduler's real claim
# (autopost-scheduler --explain-claim: EXPLAIN ANALYZE with this config's
# parameters, rolled back) over 15 runs.
claim_query_ms() {
    local i t all=()
    for i in $(seq 1 15); do
        t=$("$AUTOPOST_BIN/autopost-scheduler" --config "$AUTOPOST_CONFIG" --explain-claim |
            grep -o 'Execution Time: [0-9.]*' | grep -o '[0-9.]*$')
        all+=("$t")
    done
    printf '%s\n' "${all[@]}" | sort -n | sed -n '8p'
}

# wait_until RFC3339: sleeps until that moment has passed.
wait_until() {
    local left
    left=$(( $(date -d "$1" +%s) - $(date +%s) + 1 ))
    ((left > 0)) && sleep "$left"
    return 0
}

profile_scale() {
    begin_stack --latency-ms 0
    local account
    account=$(svc_ctl accounts add --platform facebook --external-id 777 --token scale-token)
    row scale "claim, 0 rows (ms)" "$(claim_query_ms)" "median of 15, EXPLAIN ANALYZE of the real claim"
    stack_psql -c "
WITH p AS (INSERT INTO posts (text) SELECT 'future post ' || g FROM generate_series(1, 1000000) g RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT id, '$account', now() + interval '1 day' + random() * interval '30 days' FROM p" >/dev/null
    stack_psql -c "ANALYZE" >/dev/null
    row scale "claim, 1M future rows (ms)" "$(claim_query_ms)" "target < 5"
    # Cost per idle tick: scheduler + its backend CPU over 20 s of ticks.
    svc_start scheduler
    sleep 2
    local pgp c0 g0 c1 g1
    pgp=$(stack_psql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'autopost-scheduler'" | tr '\n' ' ')
    c0=$(cpu_seconds "${SVC_PIDS[scheduler]}")
    # shellcheck disable=SC2086
    g0=$(cpu_seconds $pgp)
    sleep 20
    c1=$(cpu_seconds "${SVC_PIDS[scheduler]}")
    # shellcheck disable=SC2086
    g1=$(cpu_seconds $pgp)
    row scale "idle tick cost, 1M future (ms CPU)" "$(awk -v a="$c1" -v b="$c0" -v x="$g1" -v y="$g0" 'BEGIN { printf "%.2f", ((a - b) + (x - y)) * 1000 / 100 }')" "scheduler + its backend, 100 ticks of 200 ms"
    svc_kill scheduler TERM || true
    # One account's backlog crowds the claim's window: the claim ranks every
    # due row then (scheduler/claim.h). 10,000 posts of one account, already due;
    # removed again before the burst.
    stack_psql -c "
WITH p AS (INSERT INTO posts (text) SELECT 'backlog post ' || g FROM generate_series(1, 10000) g RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT id, '$account', now() - interval '1 minute' FROM p" >/dev/null
    stack_psql -c "ANALYZE" >/dev/null
    row scale "claim, one account's 10,000 due (ms)" "$(claim_query_ms)" "crowded window: every due row ranked"
    stack_psql -c "DELETE FROM posts WHERE text LIKE 'backlog post %'" >/dev/null
    # The seed burst on top of the million future rows: the claim with
    # 3,000 rows due, then the burst itself.
    local at total
    at=$(rfc3339_in 6)
    total=$(seed_scenario 500 3 2 "$at")
    stack_psql -c "ANALYZE" >/dev/null
    wait_until "$at"
    row scale "claim, 3,000 due + 1M future (ms)" "$(claim_query_ms)" "one batch of 500 out of the burst"
    svc_start scheduler
    svc_start dispatcher
    svc_start publisher-facebook
    # Polled five times a second, so through indexes (published_at is set
    # with published; failures have their own partial index), not by
    # counting a status over the million rows, which would take CPU from
    # the burst it measures.
    until [[ $(stack_psql -c "SELECT (SELECT count(*) FROM post_schedules WHERE published_at IS NOT NULL)
          + (SELECT count(*) FROM post_schedules WHERE status IN ('failed', 'unconfirmed'))") -ge $total ]]; do
        sleep 0.2
    done
    read -r p50 p99 max first <<<"$(lateness_figures)"
    row scale "seed burst over 1M rows: p50/p99/max (ms)" "$p50 / $p99 / $max" "sandbox latency 0"
    end_stack
}

profile_inflight() {
    local n=2000
    BENCH_ACK_WAIT=60s begin_stack --latency-ms 2000
    sed -i "s/concurrency: [0-9]*/concurrency: $n/; s/max_ack_pending: [0-9]*/max_ack_pending: $n/" "$AUTOPOST_CONFIG"
    sed -i "s/^publisher:/publisher:\n  fetch_batch: 500/" "$AUTOPOST_CONFIG"
    local at total
    at=$(rfc3339_in 6)
    total=$(seed_scenario 40 25 2 "$at")
    svc_start dispatcher
    svc_start publisher-facebook
    svc_start scheduler
    local peak_threads=0 t
    while [[ $(svc_count_status published failed unconfirmed) -lt $total ]]; do
        t=$(threads_of "${SVC_PIDS[publisher-facebook]}")
        [[ $t != "?" && $t -gt $peak_threads ]] && peak_threads=$t
        sleep 0.2
    done
    row inflight "posts / concurrency" "$total / $n" "sandbox latency 2 s"
    row inflight "sandbox max in flight" "$(sandbox_stat max_in_flight)" "cap reached when = $n"
    row inflight "publisher peak RSS (MiB)" "$(peak_rss_mb "${SVC_PIDS[publisher-facebook]}")"
    row inflight "publisher threads (peak)" "$peak_threads" "no thread per call"
    end_stack
}

# The front door (issue 18). Posts created through POST /v1/posts by
# autopost-bench-api-load (bench/api_load.c: libcurl multi, kept-alive
# connections, a key per tenant, an Idempotency-Key per post), due in a day
# so nothing else runs; then the same requests again (all replays). Then
# every one of those schedules is marked published in one statement, whose
# outbox trigger writes an event per schedule, and the dispatcher's relay
# and autopost-webhooks carry them to a local receiver: events/s from that
# commit to the stream and to the receiver's 2xx, from the rows' timestamps.
profile_api() {
    local n=${BENCH_API_POSTS:-3000} conc=${BENCH_API_CONCURRENCY:-32} tenants=4 port
    begin_stack --latency-ms 0
    port=$(stack_free_port)
    cat >>"$AUTOPOST_CONFIG" <<YAML
api:
  http_port: $port
  # The bench measures the API, not its per-key limiter (one key per tenant).
  rate_limit_per_second: 1000000
  rate_limit_burst: 1000000
webhooks:
  allow_private: true
YAML
    local api=http://127.0.0.1:$port recv=$STACK_DIR/recv t tid key accounts pairs=()
    mkdir -p "$recv"
    "$AUTOPOST_BIN/autopost-bench-webhook-receiver" "$recv.port" "$recv" 200 >>"$STACK_DIR/logs/recv.log" 2>&1 &
    stack_register_pid $!
    svc_start api
    svc_start dispatcher
    svc_start webhooks
    stack_wait_for test -s "$recv.port" >/dev/null
    stack_wait_for curl -fsS -o /dev/null "$api/v1/openapi.json" >/dev/null
    for ((t = 1; t <= tenants; t++)); do
        tid=$(svc_ctl tenants add --name "bench-$t" | awk '{print $NF}')
        key=$(svc_ctl api-keys create --tenant "$tid" --name bench | awk '{print $NF}')
        accounts=$(svc_ctl accounts add --tenant "$tid" --platform facebook --external-id "90${t}1" --token bench-token),
        accounts+=$(svc_ctl accounts add --tenant "$tid" --platform facebook --external-id "90${t}2" --token bench-token)
        pairs+=("$key=$accounts")
        curl -fsS -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
            -d "{\"url\": \"http://127.0.0.1:$(cat "$recv.port")/hook\", \"events\": [\"schedule.published\"]}" \
            "$api/v1/webhooks"
    done
    local at out replay a0 a1 pg
    at=$(rfc3339_in 86400)
    api_field() { awk -v k="$1" '$1 == k { print $2 }' <<<"$2"; }
    pg_cpu_mark
    a0=$(cpu_seconds "${SVC_PIDS[api]}")
    out=$("$AUTOPOST_BIN/autopost-bench-api-load" "$api" "$$" "$n" "$conc" "$at" "${pairs[@]}") ||
        echo "bench: some posts were not created (see above)" >&2
    a1=$(cpu_seconds "${SVC_PIDS[api]}") pg=$(pg_cpu_since)
    replay=$("$AUTOPOST_BIN/autopost-bench-api-load" "$api" "$$" "$n" "$conc" "$at" "${pairs[@]}") ||
        echo "bench: some replays were not answered 201 (see above)" >&2
    row api "posts / tenants / concurrency" "$n / $tenants / $conc" "2 accounts a post: 2 schedules"
    row api "posts created (201) / stored" "$(api_field ok "$out") / $(stack_psql -c "SELECT count(*) FROM posts")" "the replays stored none"
    row api "posts/s created (POST /v1/posts)" "$(api_field per_s "$out")" "key, validation, Idempotency-Key"
    row api "create latency p50 / p99 / max (ms)" "$(api_field p50_ms "$out") / $(api_field p99_ms "$out") / $(api_field max_ms "$out")"
    row api "autopost-api CPU s / 1000 posts" "$(awk -v a="$a1" -v b="$a0" -v n="$n" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')"
    row api "postgres CPU s / 1000 posts" "$(awk -v a="$pg" -v n="$n" 'BEGIN { printf "%.3f", a * 1000 / n }')" "the stack's postgres processes"
    row api "replays/s (same keys and bodies)" "$(api_field per_s "$replay")" "$(api_field ok "$replay") answered 201"
    row api "replay latency p50 / p99 (ms)" "$(api_field p50_ms "$replay") / $(api_field p99_ms "$replay")"
    row api "autopost-api peak RSS (MiB)" "$(peak_rss_mb "${SVC_PIDS[api]}")"
    # The events: one statement publishes every schedule; its commit is t0.
    local d0 w0 total t0 relay_s deliver_s
    stack_psql -c "UPDATE post_schedules SET status = 'queued', queued_at = now(), updated_at = now()
                    WHERE status = 'pending'" >/dev/null
    d0=$(cpu_seconds "${SVC_PIDS[dispatcher]}") w0=$(cpu_seconds "${SVC_PIDS[webhooks]}")
    t0=$(stack_psql -c "UPDATE post_schedules SET status = 'published', attempts = 1, published_at = now(),
                               external_post_id = 'bench_' || id, updated_at = now() WHERE status = 'queued';
                        SELECT extract(epoch FROM clock_timestamp())" | tail -n1)
    total=$(stack_psql -c "SELECT count(*) FROM events WHERE type = 'schedule.published'")
    delivered() { [[ $(stack_psql -c "SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'") -ge $1 ]]; }
    STACK_WAIT_TIMEOUT=600 stack_wait_for delivered "$total" >/dev/null ||
        echo "bench: not every event was delivered" >&2
    relay_s=$(stack_psql -c "SELECT extract(epoch FROM max(relayed_at)) - $t0 FROM events")
    deliver_s=$(stack_psql -c "SELECT extract(epoch FROM max(delivered_at)) - $t0 FROM webhook_deliveries")
    row api "events (schedule.published)" "$total" "one statement, outbox trigger"
    row api "events/s relayed (commit -> stream)" "$(awk -v n="$total" -v s="$relay_s" 'BEGIN { printf "%d", n / s }')" "dispatcher's relay"
    row api "events/s delivered (commit -> 2xx)" "$(awk -v n="$total" -v s="$deliver_s" 'BEGIN { printf "%d", n / s }')" "autopost-webhooks to a local receiver"
    row api "requests the receiver saw" "$(find "$recv" -name '*.meta' | wc -l)" "at least once: >= events"
    row api "dispatcher CPU s / 1000 events" "$(awk -v a="$(cpu_seconds "${SVC_PIDS[dispatcher]}")" -v b="$d0" -v n="$total" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')" "relay (and its idle fold)"
    row api "autopost-webhooks CPU s / 1000 events" "$(awk -v a="$(cpu_seconds "${SVC_PIDS[webhooks]}")" -v b="$w0" -v n="$total" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')" "intake, signing, curl multi"
    row api "autopost-webhooks peak RSS (MiB)" "$(peak_rss_mb "${SVC_PIDS[webhooks]}")"
    end_stack
}

# The seed burst with the front door in the path: 500 tenants (a customer
# per seed user, with an API key and 2 Facebook accounts each) create 1,500
# posts of 2 accounts through POST /v1/posts, 3,000 schedules. With
# BENCH_APISEED_AT=due (default) the posts are created ahead of one due
# second, as an application schedules them; with =now they are created at
# once with "at": "now", so the API's writes and the burst overlap. The
# makespan runs from the first schedule's due time to the last sandbox
# arrival; the ideal is the seed's (posts x latency / C).
profile_apiseed() {
    local C=${BENCH_SEED_CAP:-64} latency=100 users=500 mode=${BENCH_APISEED_AT:-due} port
    begin_stack --latency-ms "$latency"
    sed -i "s/concurrency: [0-9]*/concurrency: $C/" "$AUTOPOST_CONFIG"
    port=$(stack_free_port)
    cat >>"$AUTOPOST_CONFIG" <<YAML
api:
  http_port: $port
  rate_limit_per_second: 1000000
  rate_limit_burst: 1000000
YAML
    local api=http://127.0.0.1:$port dir=$STACK_DIR/apiseed u tid keys=() pairs=() ids=()
    mkdir -p "$dir"
    : >"$dir/accounts.jsonl"
    for ((u = 1; u <= users; u++)); do
        tid=$(svc_ctl tenants add --name "customer-$u" | awk '{print $NF}')
        keys+=("$(svc_ctl api-keys create --tenant "$tid" --name app | awk '{print $NF}')")
        printf '{"platform":"facebook","external_id":"%d","token":"t-%d-1","tenant_id":"%s"}\n{"platform":"facebook","external_id":"%d","token":"t-%d-2","tenant_id":"%s"}\n' \
            $((100000 + u * 10 + 1)) "$u" "$tid" $((100000 + u * 10 + 2)) "$u" "$tid" >>"$dir/accounts.jsonl"
    done
    mapfile -t ids < <(svc_ctl accounts import "$dir/accounts.jsonl")
    for ((u = 0; u < users; u++)); do pairs+=("${keys[u]}=${ids[2 * u]},${ids[2 * u + 1]}"); done
    svc_start api
    svc_start dispatcher
    svc_start publisher-facebook
    svc_start scheduler
    stack_wait_for curl -fsS -o /dev/null "$api/v1/openapi.json" >/dev/null
    local at=now out
    [[ $mode == now ]] || at=$(rfc3339_in 15)
    out=$("$AUTOPOST_BIN/autopost-bench-api-load" "$api" "$$" $((users * 3)) 32 "$at" "${pairs[@]}") ||
        echo "bench: some posts were not created (see above)" >&2
    local total
    total=$(stack_psql -c "SELECT count(*) FROM post_schedules")
    wait_all_terminal "$total"
    report_load_sandbox
    local make first ideal early
    read -r make first <<<"$(stack_psql -F ' ' -c "
SELECT max(sp.accepted_at_ms) - min((extract(epoch FROM s.scheduled_at) * 1000)::bigint),
       min(sp.accepted_at_ms) - min((extract(epoch FROM s.scheduled_at) * 1000)::bigint)
  FROM post_schedules s JOIN sandbox_posts sp ON sp.post_id = s.external_post_id")"
    # Created after the due time ("due" mode): the front door was too slow to be ahead.
    early=$(stack_psql -c "SELECT count(*) FROM post_schedules s JOIN posts p ON p.id = s.post_id WHERE p.created_at > s.scheduled_at")
    ideal=$(awk -v n="$total" -v l="$latency" -v c="$C" 'BEGIN { printf "%d", n * l / c }')
    row apiseed "schedules / tenants / at" "$total / $users / $mode" "1,500 posts of 2 accounts through POST /v1/posts"
    row apiseed "posts/s created" "$(awk '$1 == "per_s" { print $2 }' <<<"$out")" "$(awk '$1 == "ok" { print $2 }' <<<"$out") answered 201"
    row apiseed "makespan (ms)" "$make" "last sandbox arrival - first due time"
    row apiseed "ideal makespan (ms)" "$ideal" "posts x latency / C"
    row apiseed "makespan / ideal" "$(awk -v a="$make" -v b="$ideal" 'BEGIN { printf "%.2f", a / b }')" "target <= 1.15"
    row apiseed "first post late (ms)" "$first"
    [[ $mode == now ]] || row apiseed "posts created after their due time" "$early" "0: the API kept ahead"
    row apiseed "not published / sandbox dups" "$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE status <> 'published'") / $(stack_psql -c "SELECT count(*) - count(DISTINCT (page_id, message)) FROM sandbox_posts")" "exactly once: 0 / 0"
    end_stack
}

# The rows' own writes for every pending schedule, in batches of 500 inside
# the server (no client round trips, plans cached): queued with its history
# line, committed, then published with its history line, committed. What the
# scheduler and the dispatcher must write per job at the least.
FLOOR_ROW_WORK_SQL=$(cat <<'SQL'
DO $$
DECLARE ids uuid[];
BEGIN
  LOOP
    SELECT array_agg(id) INTO ids FROM (
      SELECT id FROM post_schedules WHERE status = 'pending' ORDER BY scheduled_at LIMIT 500) b;
    EXIT WHEN ids IS NULL;
    WITH u AS (UPDATE post_schedules SET status = 'queued', queued_at = now(), updated_at = now()
                WHERE id = ANY(ids) RETURNING id, generation)
    INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, actor)
    SELECT id, generation, 0, 'queued', 'floor' FROM u;
    COMMIT;
    WITH u AS (UPDATE post_schedules SET status = 'published', attempts = 1,
                      published_at = now(), external_post_id = 'floor_' || id, updated_at = now()
                WHERE id = ANY(ids) RETURNING id, generation)
    INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, external_post_id, actor)
    SELECT id, generation, 1, 'published', 'floor_' || id, 'floor' FROM u;
    COMMIT;
  END LOOP;
END $$;
SQL
)

# The events outbox's relay (dispatcher/relay.c), in the same batches: the
# published rows' events selected and locked, then marked relayed. Measured
# apart from the rows' own writes above.
FLOOR_RELAY_WORK_SQL=$(cat <<'SQL'
DO $$
DECLARE ids uuid[];
BEGIN
  LOOP
    SELECT array_agg(id) INTO ids FROM (
      SELECT id, tenant_id, type, body FROM events WHERE relayed_at IS NULL
       ORDER BY seq LIMIT 500 FOR UPDATE SKIP LOCKED) b;
    EXIT WHEN ids IS NULL;
    UPDATE events SET relayed_at = now() WHERE id = ANY(ids);
    COMMIT;
  END LOOP;
END $$;
SQL
)

profile_floor() {
    local n=${BENCH_FLOOR_JOBS:-50000} out
    begin_stack --latency-ms 0
    local m0
    m0=$(nats_msgs)
    out=$("$AUTOPOST_BIN/autopost-bench-js-floor" "$AUTOPOST_NATS_URL" "$STACK_NATS_PID" "$n")
    row floor "nats messages in / out per job" "$(msgs_per_job "$m0" "$n")" "events included"
    row floor "nats payload bytes in / out per job" "$(bytes_per_job "$m0" "$n")" "events included"
    field() { awk -v k="$1" '$1 == k { print $2 }' <<<"$out"; }
    row floor "JetStream: jobs" "$(field jobs)" "store job, claim, record, result; fetch+ack 2"
    row floor "nats-server CPU s / 1000 jobs" "$(field nats_server_ms_per_job)" "compare overhead"
    row floor "JetStream client CPU s / 1000 jobs" "$(field client_ms_per_job)" "nats.c, one thread"
    row floor "events: nats-server CPU s / 1000 jobs" "$(field events_nats_server_ms_per_job)" "one event stored per job (the outbox relay)"
    row floor "events: JetStream client CPU s / 1000 jobs" "$(field events_client_ms_per_job)"
    # The platform call itself, as the publisher makes it (concurrency 256,
    # kept-alive connections): the floor of the publisher's own CPU with the
    # client figures above.
    out=$("$AUTOPOST_BIN/autopost-bench-http-floor" "$SANDBOX_URL" "$n" 256)
    row floor "HTTP: calls answered" "$(field ok) / $(field calls)" "POST .../feed, 256 in flight"
    row floor "HTTP client CPU s / 1000 jobs" "$(field client_ms_per_call)" "libcurl multi + the answer's JSON, one thread"
    local total
    total=$(seed_scenario $((n / 50)) 25 2 "$(rfc3339_in 86400)")
    stack_psql -c "VACUUM ANALYZE" >/dev/null
    # The work runs in one session whose backend is gone when psql exits:
    # it reads its own backend's CPU before and after.
    local script=$STACK_DIR/floor.sql cpu="$STACK_DIR/floor.cpu"
    {
        echo "SELECT pg_backend_pid() AS pid \\gset"
        echo "\\setenv FLOOR_PID :pid"
        echo "\\! awk '{ print \$14 + \$15 }' /proc/\$FLOOR_PID/stat >$cpu"
        printf '%s\n' "$FLOOR_ROW_WORK_SQL"
        echo "\\! awk '{ print \$14 + \$15 }' /proc/\$FLOOR_PID/stat >>$cpu"
        printf '%s\n' "$FLOOR_RELAY_WORK_SQL"
        echo "\\! awk '{ print \$14 + \$15 }' /proc/\$FLOOR_PID/stat >>$cpu"
    } >"$script"
    pg_cpu_mark
    stack_psql -f "$script" >/dev/null
    local others backend
    others=$(pg_cpu_since)
    local relay
    backend=$(awk -v hz="$CLK_TCK" 'NR == 1 { a = $1 } NR == 2 { printf "%.2f", ($1 - a) / hz }' "$cpu")
    relay=$(awk -v hz="$CLK_TCK" 'NR == 2 { a = $1 } NR == 3 { printf "%.2f", ($1 - a) / hz }' "$cpu")
    row floor "PostgreSQL: schedules" "$total" "queued+history, published+history"
    # The other processes (WAL writer, checkpointer, autovacuum) over both
    # parts are counted with the rows' writes.
    row floor "postgres CPU s / 1000 jobs" "$(awk -v a="$backend" -v b="$others" -v n="$total" 'BEGIN { printf "%.3f", (a + b) * 1000 / n }')" "the stack's postgres processes"
    row floor "  of which the working backend" "$(awk -v a="$backend" -v n="$total" 'BEGIN { printf "%.3f", a * 1000 / n }')" "batches of 500, in the server"
    row floor "events: postgres CPU s / 1000 jobs" "$(awk -v a="$relay" -v n="$total" 'BEGIN { printf "%.3f", a * 1000 / n }')" "the relay's select and mark, same batches"
    end_stack
}

# begin_cluster_stack SANDBOX_FLAGS...: like begin_stack, but the services
# talk to a 3-node JetStream cluster on loopback and every stream and bucket
# is R3 (tests/fixtures/cluster.sh). The single nats-server of the stack
# still runs; nothing connects to it.
begin_cluster_stack() {
    stack_start >/dev/null
    SVC_SANDBOX_TLS=${BENCH_TLS:-0} svc_sandbox_start "$@"
    cluster_start 3
    export AUTOPOST_NATS_URL=$CLUSTER_URLS
    SVC_ACK_WAIT=${BENCH_ACK_WAIT:-30s} SVC_TIMEOUT=${BENCH_TIMEOUT:-10s} svc_config
    sed -i 's/^nats:$/nats:\n  stream_replicas: 3/' "$AUTOPOST_CONFIG"
    svc_ctl migrate >/dev/null
    svc_ctl streams apply >/dev/null
}

end_cluster_stack() {
    end_stack
    CLUSTER_PIDS=() CLUSTER_PORTS=() CLUSTER_MON=() CLUSTER_ROUTE=()
    export AUTOPOST_NATS_URL=
}

# cluster_node_of CLIENT_NAME_PREFIX: the node (1-based) a client is connected to.
cluster_node_of() {
    local i
    for ((i = 1; i <= ${#CLUSTER_MON[@]}; i++)); do
        curl -fsS --max-time 2 "http://127.0.0.1:${CLUSTER_MON[$i]}/connz?limit=1024" 2>/dev/null |
            jq -e --arg p "$1" '[.connections[]? | select((.name // "") | startswith($p))] | length > 0' \
                >/dev/null 2>&1 && { echo "$i"; return 0; }
    done
    return 1
}

# The replication's cost: the overhead profile's work (smaller) against a
# 3-node cluster with R3 streams; nats-server CPU is the three nodes' sum.
profile_cluster() {
    local n=${BENCH_CLUSTER_POSTS:-20000}
    begin_cluster_stack --latency-ms 0
    sed -i "s/concurrency: [0-9]*/concurrency: 256/; s/max_ack_pending: [0-9]*/max_ack_pending: 4096/" "$AUTOPOST_CONFIG"
    local total
    total=$(seed_scenario $((n / 50)) 25 2 "$(rfc3339_in 20)")
    svc_start dispatcher
    svc_start publisher-facebook
    svc_start scheduler
    local c0 n0 name
    declare -A c0s=()
    for name in scheduler publisher-facebook dispatcher; do c0s[$name]=$(cpu_seconds "${SVC_PIDS[$name]}"); done
    pg_cpu_mark
    n0=$(cpu_seconds "${CLUSTER_PIDS[@]}")
    wait_all_terminal "$total"
    local secs
    secs=$(stack_psql -c "SELECT extract(epoch FROM max(updated_at) - min(scheduled_at)) FROM post_schedules")
    row cluster "posts (3 nodes, R3)" "$total" "sandbox answers at once"
    row cluster "end-to-end jobs/s (due -> published)" "$(awk -v n="$total" -v s="$secs" 'BEGIN { printf "%d", n / s }')"
    for name in scheduler publisher-facebook dispatcher; do
        row cluster "$name CPU s / 1000 jobs" "$(awk -v a="$(cpu_seconds "${SVC_PIDS[$name]}")" -v b="${c0s[$name]}" -v n="$total" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')"
    done
    row cluster "nats-server CPU s / 1000 jobs" "$(awk -v a="$(cpu_seconds "${CLUSTER_PIDS[@]}")" -v b="$n0" -v n="$total" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')" "three nodes together; compare overhead"
    row cluster "postgres CPU s / 1000 jobs" "$(awk -v a="$(pg_cpu_since)" -v n="$total" 'BEGIN { printf "%.3f", a * 1000 / n }')" "the stack's postgres processes"
    end_cluster_stack
}

# cluster_stream_leader STREAM: the node (1-based) leading a stream.
cluster_stream_leader() {
    local name
    name=$(curl -fsS --max-time 2 "http://127.0.0.1:${CLUSTER_MON[1]}/jsz?streams=true" 2>/dev/null |
        jq -r --arg s "$1" '.account_details[]?.stream_detail[]? | select(.name == $s) | .cluster.leader // empty' | head -n 1)
    [[ $name =~ ^autopost-n([0-9]+)$ ]] && echo "${BASH_REMATCH[1]}"
}

# One seed burst on the R3 cluster: "makespan terminal_after" in ms after
# the due time. With KILL=1 a node gets SIGKILL once a third of the posts
# have arrived (and stays down): BENCH_NODELOSS_VICTIM=publisher (default)
# kills the one the publisher is connected to, =leader the leader of the
# attempt records' stream (on another node when it can).
_nodeloss_burst() {
    local kill=$1 C=${BENCH_SEED_CAP:-64}
    begin_cluster_stack --latency-ms 100
    sed -i "s/concurrency: [0-9]*/concurrency: $C/; s/ack_wait: .*/ack_wait: ${BENCH_NODELOSS_ACK_WAIT:-60s}/" "$AUTOPOST_CONFIG"
    local total victim=""
    total=$(seed_scenario 500 3 2 "$(rfc3339_in 8)")
    svc_start dispatcher
    svc_start publisher-facebook
    svc_start scheduler
    if ((kill)); then
        stack_wait_for bash -c "(( \$(curl -fsS $SANDBOX_URL/_sandbox/stats | jq .accepted) >= $((total / 3)) ))" >/dev/null
        victim=$(cluster_node_of autopost-publisher-facebook) || victim=1
        if [[ ${BENCH_NODELOSS_VICTIM:-publisher} == leader ]]; then
            local leader
            leader=$(cluster_stream_leader KV_autopost_attempts_facebook) || leader=""
            [[ -n $leader ]] && victim=$leader
        fi
        cluster_kill "$victim"
    fi
    wait_all_terminal "$total"
    read -r _ _ max _ <<<"$(lateness_figures)"
    local done_ms bad dups
    done_ms=$(stack_psql -c "SELECT (extract(epoch FROM max(updated_at)) * 1000)::bigint - (extract(epoch FROM min(scheduled_at)) * 1000)::bigint FROM post_schedules")
    bad=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE status <> 'published'")
    dups=$(stack_psql -c "SELECT count(*) - count(DISTINCT (page_id, message)) FROM sandbox_posts")
    end_cluster_stack
    echo "$max $done_ms $bad $dups $victim"
}

# Losing one of three NATS nodes mid-burst: how long until every row is
# terminal, against the same burst without the loss (issue 21's goal:
# within 15 s of the no-fault figure, exactly once).
profile_nodeloss() {
    local base fault
    base=$(_nodeloss_burst 0)
    fault=$(_nodeloss_burst 1)
    read -r b_make b_done b_bad b_dups _ <<<"$base"
    read -r f_make f_done f_bad f_dups f_victim <<<"$fault"
    row nodeloss "no loss: makespan / all terminal (ms)" "$b_make / $b_done" "3,000 posts, C = 64, 100 ms, R3"
    row nodeloss "node $f_victim killed: makespan / all terminal (ms)" "$f_make / $f_done" "${BENCH_NODELOSS_VICTIM:-publisher}'s node, a third in"
    row nodeloss "all terminal: loss - no loss (ms)" "$((f_done - b_done))" "target <= 15000"
    row nodeloss "not published / sandbox dups (no loss; loss)" "$b_bad / $b_dups; $f_bad / $f_dups" "exactly once: 0 / 0"
}

stack_trap
profiles=("$@")
((${#profiles[@]})) || profiles=(seed overhead scale inflight floor api media)
for p in "${profiles[@]}"; do
    echo "bench: running $p" >&2
    "profile_$p"
done

printf '\nplatform calls over %s\n' "$TRANSPORT"
printf '\n%-9s %-34s %14s  %s\n' profile metric value note
printf '%s\n' "${ROWS[@]}"
{
    printf '{"machine":"%s","cpus":%s,"when":"%s","transport":"%s","results":[' "$(uname -n)" "$(nproc)" \
        "$(date -u +%FT%TZ)" "$TRANSPORT"
    (IFS=,; printf '%s' "${JSON[*]}")
    printf ']}\n'
} >"$OUT"
echo "bench: wrote $OUT" >&2
