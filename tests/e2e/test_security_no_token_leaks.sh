#!/usr/bin/env bash
# Customers' tokens never appear in clear outside the publisher's memory and
# the platform call: not in any service log, not in any message on the bus
# (jobs, results, attempt records, advisories), not in PostgreSQL.
#
# The seed scenario's tokens are "seed-token-u<U>-p<P>". Jobs are deleted
# from the work-queue stream once acked, so they are captured while no
# publisher runs; everything else is captured at the end. Messages are read
# with the plain NATS protocol and the JetStream API ($JS.API.STREAM.MSG.GET),
# payloads and headers base64-decoded and scanned as bytes.
#
# The scan must be able to fail: the sandbox (the "platform") must have
# received every token, each on its own page, and the scanner must find the
# tokens in the sandbox's own record of them.
source "$(dirname "$0")/lib.sh"

TOKEN_RE='seed-token-u[0-9]+-p[0-9]+'
# "seed-token-" as hex: how a bytea column holding it would look in a dump.
TOKEN_HEX=736565642d746f6b656e2d

# leak_count FILE: how many token-looking strings FILE holds (plain or hex).
leak_count() {
    local plain hex
    plain=$(grep -a -o -E "$TOKEN_RE" "$1" | wc -l)
    hex=$(grep -a -o -i "$TOKEN_HEX" "$1" | wc -l)
    echo $((plain + hex))
}

# ---- a tiny JetStream API client over the raw NATS protocol (fd 7) ----------

js_open() {
    exec 7<>"/dev/tcp/127.0.0.1/$NATS_PORT" || return 1
    local line
    IFS= read -r -t 5 line <&7 || return 1
    [[ $line == INFO* ]] || return 1
    printf 'CONNECT {"verbose":false,"pedantic":false,"name":"leak-scan"}\r\n' >&7
    printf 'SUB _INBOX.leakscan 1\r\n' >&7
}

js_close() { exec 7>&-; }

# js_request SUBJECT JSON: prints the reply's payload.
js_request() {
    local LC_ALL=C subject=$1 body=$2 line size payload
    printf 'PUB %s _INBOX.leakscan %d\r\n%s\r\n' "$subject" "${#body}" "$body" >&7
    while IFS= read -r -t 5 line <&7; do
        line=${line%$'\r'}
        case $line in
            PING) printf 'PONG\r\n' >&7 ;;
            MSG\ *)
                size=${line##* }
                IFS= read -r -N "$size" -t 5 payload <&7 || return 1
                IFS= read -r -t 5 line <&7 || true # the payload's CRLF
                printf '%s' "$payload"
                return 0
                ;;
            -ERR*) _svc_log "NATS: $line"; return 1 ;;
        esac
    done
    return 1
}

# js_capture STREAM OUT: every stored message of STREAM (subject, headers and
# payload, decoded) into OUT; the raw API replies go to OUT.json. Prints how
# many messages were read. Deleted sequences (acked work-queue messages)
# answer an error and are skipped.
js_capture() {
    local stream=$1 out=$2 info first last seq
    : >"$out.json"
    info=$(js_request "\$JS.API.STREAM.INFO.$stream" '{}') || return 1
    first=$(jq -r '.state.first_seq' <<<"$info")
    last=$(jq -r '.state.last_seq' <<<"$info")
    [[ $first =~ ^[0-9]+$ && $last =~ ^[0-9]+$ ]] || { _svc_log "no state for $stream: $info"; return 1; }
    for ((seq = first; seq <= last && last > 0; seq++)); do
        js_request "\$JS.API.STREAM.MSG.GET.$stream" "{\"seq\":$seq}" >>"$out.json" || return 1
        printf '\n' >>"$out.json"
    done
    # One base64 stream: GNU base64 -d decodes padded pieces one after the other.
    jq -r '.message // empty | ((.subject + "\n") | @base64), (.hdrs // empty), (.data // empty),
           ("\n" | @base64)' "$out.json" | base64 -d >"$out" || return 1
    jq -n '[inputs | select(.message)] | length' "$out.json"
}

# js_stream_names: one stream name a line.
js_stream_names() {
    js_request "\$JS.API.STREAM.NAMES" '{}' | jq -r '.streams[]'
}

# ---- run ---------------------------------------------------------------------
e2e_begin --latency-ms 5
cap=$STACK_DIR/capture
mkdir -p "$cap"
at=$(rfc3339_in 2)
total=$(seed_scenario 20 3 2 "$at" 2>"$cap/ctl.stderr") || fail "seeding failed"
[[ $total -eq 120 ]] || fail "seeded $total schedules, expected 120"
cp "$STACK_DIR/seed/account_ids.txt" "$cap/ctl.stdout"

# Jobs: queue them with no publisher running, then read them off the stream.
svc_start dispatcher
svc_start scheduler
for ((i = 0; i < 120; i++)); do
    [[ $(svc_count_status queued) -eq 120 ]] && break
    sleep 0.5
done
[[ $(svc_count_status queued) -eq 120 ]] || fail "jobs were not queued"
js_open || fail "cannot talk to NATS"
jobs=$(js_capture AUTOPOST_JOBS "$cap/stream-AUTOPOST_JOBS-queued.bin") || fail "cannot read AUTOPOST_JOBS"
[[ $jobs -eq 120 ]] || fail "captured $jobs jobs, expected 120"
sealed=$(grep -a -o 'AP2' "$cap/stream-AUTOPOST_JOBS-queued.bin" | wc -l)
[[ $sealed -ge 120 ]] || fail "only $sealed sealed credentials in 120 jobs"
pass "captured 120 queued jobs, each carrying a sealed credential"

svc_start publisher-facebook
# The publisher holds the key and the tokens: it dumps no core (soft and
# hard limit 0, set by the process itself) and is not dumpable.
pub_pid=${SVC_PIDS[publisher-facebook]}
core_limit=""
for _ in $(seq 50); do
    core_limit=$(awk '/^Max core file size/ {print $5 " " $6}' "/proc/$pub_pid/limits" 2>/dev/null) || true
    [[ $core_limit == "0 0" ]] && break
    sleep 0.1
done
[[ $core_limit == "0 0" ]] || fail "publisher core file size limit is '$core_limit', expected '0 0'"
if [[ $(id -u) -ne 0 ]]; then
    # Not dumpable: the kernel hands its /proc entries to root.
    [[ $(stat -c %u "/proc/$pub_pid/environ") -eq 0 ]] || fail "publisher is dumpable"
fi
pass "the publisher dumps no core and is not dumpable"
SVC_QUIET=1 svc_wait_terminal 120 120 || fail "not every schedule reached a final state"
check_exactly_once 120 || fail "exactly-once check"

# Every stream at the end: results (kept, limits retention), attempt records,
# advisories, whatever is left of the jobs.
streams=$(js_stream_names) || fail "cannot list streams"
for s in $streams; do
    n=$(js_capture "$s" "$cap/stream-$s.bin") || fail "cannot read $s"
    echo "captured $n messages of $s"
    if [[ $s == AUTOPOST_RESULTS ]]; then
        [[ $n -ge 120 ]] || fail "captured $n results, expected at least 120"
    fi
done
[[ $streams == *KV_autopost_attempts_facebook* ]] || fail "no attempt-record stream among: $streams"
js_close

pg_dump --data-only "$AUTOPOST_POSTGRES_DSN" >"$cap/pg_dump.sql" 2>"$cap/pg_dump.err" ||
    fail "pg_dump failed: $(cat "$cap/pg_dump.err")"
[[ $(grep -c . "$cap/pg_dump.sql") -gt 120 ]] || fail "pg_dump wrote almost nothing"

# ---- the scan can fail ---------------------------------------------------------
sandbox_get /_sandbox/posts >"$cap/sandbox-posts.json" || fail "cannot read the sandbox posts"
wrong=$(jq '[.posts[] | (.page_id | tonumber - 100000) as $x
             | select(.token != "seed-token-u\(($x / 10) | floor)-p\($x % 10)")] | length' \
    "$cap/sandbox-posts.json")
seen=$(jq '.posts | length' "$cap/sandbox-posts.json")
[[ $seen -eq 120 && $wrong -eq 0 ]] ||
    fail "the sandbox saw $seen posts, $wrong of them with a token not of their page"
[[ $(leak_count "$cap/sandbox-posts.json") -ge 120 ]] || fail "the scanner misses plain tokens"
printf 'x \\x%s7531 y\n' "$TOKEN_HEX" >"$cap/control-hex.txt"
[[ $(leak_count "$cap/control-hex.txt") -eq 1 ]] || fail "the scanner misses hex tokens"
pass "the platform received every token (control: the scanner finds them)"

# ---- the scan ----------------------------------------------------------------------
leaks=0
scanned=()
for f in "$STACK_DIR"/logs/*.log "$STACK_DIR/nats.log" "$STACK_DIR/pg.log" "$cap"/stream-*.bin \
    "$cap/pg_dump.sql" "$cap/ctl.stdout" "$cap/ctl.stderr"; do
    [[ -f $f ]] || continue
    [[ ${f##*/} == sandbox.log ]] && continue # the platform: it must see them
    scanned+=("${f##*/}")
    n=$(leak_count "$f")
    if [[ $n -ne 0 ]]; then
        printf 'LEAK: %s holds %d token strings\n' "$f" "$n" >&2
        leaks=$((leaks + n))
    fi
done
echo "scanned: ${scanned[*]}"
[[ ${#scanned[@]} -ge 12 ]] || fail "scanned only ${#scanned[@]} artifacts"
[[ $leaks -eq 0 ]] || fail "$leaks token strings found outside the platform"
pass "no token in $((${#scanned[@]})) logs, streams and the database dump"

e2e_finish
pass "no customer token leaks"
