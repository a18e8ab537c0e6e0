#!/usr/bin/env bash
# SIGTERM reaches every long-running binary in each state it can be in, and
# each must exit 0 (no crash, no core, no sanitizer report, no help from the
# shutdown_grace alarm):
#
#   fresh      started, nothing ever to do (a new replica scaled down at once)
#   idle       a small burst fully published, then nothing; publisher-x has
#              had nothing at all to do (its platform is idle)
#   mid-burst  jobs in flight on the platform
#   nats-kill  nats-server killed (SIGKILL) mid-burst: clients are reconnecting,
#              and a second set started during the outage never connected
#   nats-stop  nats-server paused (SIGSTOP) mid-burst: connections hang
#
# After mid-burst and both NATS rounds the services are started again and
# every schedule must end published exactly once (sandbox record, as
# test_publisher_kill checks). The sandbox itself is stopped fresh and at the
# end (it has no NATS, and the exactly-once check needs its record).
source "$(dirname "$0")/lib.sh"

SVC_ACK_WAIT=5s
SVC_CONCURRENCY=8                 # with 150 ms per call a burst lasts seconds
# Jobs cut off by a NATS outage are taken over after 2 x timeout + 5 s.
SVC_TIMEOUT=1s
SVC_PLATFORMS="facebook x"        # x gets no jobs: an idle platform's publisher
e2e_begin --latency-ms 150
# A double post shows up as a second accepted post instead of a 506.
sandbox_post /_sandbox/config '{"reject_duplicates":false}' >/dev/null

# Every service gets its own health port (on in production: the probes), the
# console its page's port.
SERVICES=(scheduler dispatcher publisher-facebook publisher-x console)
declare -A CFG=()
CONSOLE_PORT=
for svc in "${SERVICES[@]}"; do
    CFG[$svc]=$STACK_DIR/$svc.yaml
    port=$(stack_free_port) || fail "no free port"
    {
        cat "$AUTOPOST_CONFIG"
        if [[ $svc == console ]]; then
            CONSOLE_PORT=$port
            printf 'console:\n  http_bind: 127.0.0.1\n  http_port: %s\n' "$port"
        else
            printf 'service:\n  http_bind: 127.0.0.1\n  http_port: %s\n' "$port"
        fi
    } >"${CFG[$svc]}"
    # A second set, run beside the first: no health ports, its own console port.
    CFG[2:$svc]=$AUTOPOST_CONFIG
done
CFG[2:console]=$STACK_DIR/console-2.yaml
{
    cat "$AUTOPOST_CONFIG"
    printf 'console:\n  http_bind: 127.0.0.1\n  http_port: %s\n' "$(stack_free_port)"
} >"${CFG[2:console]}"

# launch_all ROUND [SET]: every service, logging to logs/<service>@ROUND.log;
# SET 2 is the configs of the second set.
launch_all() {
    local round=$1 set=${2:+$2:} svc
    for svc in "${SERVICES[@]}"; do
        if [[ $svc == console ]]; then
            AUTOPOST_INSTANCE=console@$round "$AUTOPOST_BIN/autopost-console" \
                --config "${CFG[${set}console]}" >>"$STACK_DIR/logs/console@$round.log" 2>&1 &
            SVC_PIDS["console@$round"]=$!
            stack_register_pid "$!"
        else
            svc_start "$svc@$round" --config "${CFG[$set$svc]}"
        fi
    done
}

# start_all ROUND: launch_all, then wait until each says it is up (its loop
# is running, not still connecting).
start_all() {
    local round=$1 svc
    launch_all "$round"
    local -A started=([scheduler]=started [dispatcher]=dispatcher_started
        [publisher-facebook]=started [publisher-x]=started [console]=console_started)
    for svc in "${SERVICES[@]}"; do
        stack_wait_for grep -q "\"event\":\"${started[$svc]}\"" "$STACK_DIR/logs/$svc@$round.log" \
            >/dev/null || fail "$svc did not start in round $round"
    done
    stack_wait_for curl -fsS "http://127.0.0.1:$CONSOLE_PORT/healthz" >/dev/null ||
        fail "the console does not answer in round $round"
}

# clean_exit NAME RC SECONDS LOG: exit 0 and no sanitizer report, or fail.
clean_exit() {
    local name=$1 rc=$2 secs=$3 log=$4
    printf '  %-30s exit %3d after %2d s\n' "$name" "$rc" "$secs"
    if ((rc != 0)); then
        ((rc > 128)) && echo "  (killed by signal $((rc - 128)))"
        grep -E -A 25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -n 40 >&2 ||
            true
        fail "$name exited with $rc on SIGTERM"
    fi
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
        grep -E -A 25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -n 40 >&2
        fail "$name: sanitizer report in ${log##*/}"
    fi
}

# term_all ROUND: SIGTERM every running service at once and check each exit.
term_all() {
    local round=$1 name pid rc t0
    echo "round $round: SIGTERM to ${#SVC_PIDS[@]} services"
    t0=$SECONDS
    for name in "${!SVC_PIDS[@]}"; do kill -TERM "${SVC_PIDS[$name]}" 2>/dev/null || true; done
    declare -A by_pid=()
    for name in "${!SVC_PIDS[@]}"; do by_pid[${SVC_PIDS[$name]}]=$name; done
    while ((${#by_pid[@]} > 0)); do
        rc=0
        wait -n -p pid "${!by_pid[@]}" || rc=$?
        [[ -n ${pid:-} && -n ${by_pid[$pid]:-} ]] || fail "round $round: wait returned no service"
        name=${by_pid[$pid]}
        unset "by_pid[$pid]" "SVC_PIDS[$name]"
        clean_exit "$name" "$rc" $((SECONDS - t0)) "$STACK_DIR/logs/$name.log"
    done
}

accepted() { sandbox_stat accepted; }
terminal() { svc_count_status published failed unconfirmed cancelled; }

# burst TAG N_PER_ACCOUNT: N posts for every seeded account, due in 1 s.
burst() {
    local tag=$1 n=$2 at account i=0 k
    at=$(rfc3339_in 1)
    : >"$STACK_DIR/burst-$tag.jsonl"
    while read -r account; do
        i=$((i + 1))
        for ((k = 1; k <= n; k++)); do
            printf '{"account_id":"%s","at":"%s","text":"shutdown %s post %d of account %d"}\n' \
                "$account" "$at" "$tag" "$k" "$i" >>"$STACK_DIR/burst-$tag.jsonl"
        done
    done <"$STACK_DIR/seed/account_ids.txt"
    svc_ctl import "$STACK_DIR/burst-$tag.jsonl" >/dev/null || fail "import of burst $tag failed"
    total=$((total + $(wc -l <"$STACK_DIR/burst-$tag.jsonl")))
}

# in_flight ROUND MIN: wait until MIN more posts were accepted this round, and
# make sure the burst is not over (else the round would test an idle service).
in_flight() {
    local round=$1 want=$(($(accepted) + $2))
    stack_wait_for bash -c "(( \$(curl -fsS $SANDBOX_URL/_sandbox/stats |
        grep -o '\"accepted\":[0-9]*' | cut -d: -f2) >= $want ))" >/dev/null ||
        fail "round $round: publishing did not start"
    local done_now
    done_now=$(terminal)
    ((done_now < total)) || fail "round $round: the burst was over before the signal"
    echo "round $round: $(accepted) accepted, $done_now/$total terminal"
}

# resume ROUND: start everything again; every schedule so far ends published
# exactly once.
resume() {
    start_all "$1"
    svc_wait_terminal "$total" 120 || fail "round $1: not every schedule finished"
    check_exactly_once "$total" || fail "round $1: exactly-once check"
}

# ---- fresh --------------------------------------------------------------------
# The sandbox too, in a second copy that never served a request.
"$AUTOPOST_BIN/autopost-sandbox" --listen 127.0.0.1:0 --port-file "$STACK_DIR/fresh-sandbox.port" \
    >>"$STACK_DIR/logs/sandbox@fresh.log" 2>&1 &
SVC_PIDS["sandbox@fresh"]=$!
stack_register_pid "$!"
stack_wait_for test -s "$STACK_DIR/fresh-sandbox.port" >/dev/null || fail "second sandbox did not start"
start_all fresh
sleep 1 # past start-up: the fetch loops are waiting for jobs that never come
term_all fresh

# ---- idle after work ----------------------------------------------------------
total=$(seed_scenario 4 5 2 "$(rfc3339_in 1)") # 8 Facebook pages, 40 posts
start_all idle
svc_wait_terminal "$total" 60 || fail "round idle: the small burst did not finish"
check_exactly_once "$total" || fail "round idle: exactly-once check"
sleep 1
term_all idle
[[ $(log_count publisher-x@idle job_published) -eq 0 ]] || fail "publisher-x was meant to stay idle"

# ---- mid-burst ----------------------------------------------------------------
start_all mid
burst mid 20 # 160 posts: about 3 s at 8 calls of 150 ms
in_flight mid 40
term_all mid
resume mid-resumed

# ---- NATS killed --------------------------------------------------------------
burst nats-kill 20
in_flight nats-kill 40
stack_nats_kill
# Replicas that start during the outage and are stopped before NATS is back.
launch_all nats-down-start 2
for svc in "${SERVICES[@]}"; do
    stack_wait_for grep -q '"event":"nats_connect_pending"' "$STACK_DIR/logs/$svc@nats-down-start.log" \
        >/dev/null || fail "$svc did not start without NATS"
done
term_all nats-kill
stack_nats_start || fail "nats-server did not come back"
resume nats-kill-resumed

# ---- NATS paused --------------------------------------------------------------
burst nats-stop 20
in_flight nats-stop 40
kill -STOP "$STACK_NATS_PID"
sleep 1
term_all nats-stop
kill -CONT "$STACK_NATS_PID"
resume nats-stop-resumed

# ---- idle again, and the sandbox ----------------------------------------------
term_all end
rc=0
kill -TERM "$SANDBOX_PID"
wait "$SANDBOX_PID" || rc=$?
clean_exit sandbox "$rc" 0 "$STACK_DIR/logs/sandbox.log"
svc_assert_clean_logs || fail "sanitizer reports in service logs"
pass "SIGTERM in every state: every service exited 0; $total schedules published exactly once"
