# shellcheck shell=bash
# Shared start-up for end-to-end tests: real nats-server (JetStream) and
# PostgreSQL from tests/fixtures/stack.sh, the platform sandbox, and the
# autopost binaries of the build under test ($AUTOPOST_BIN).
set -euo pipefail

: "${AUTOPOST_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${AUTOPOST_BIN:=$AUTOPOST_SRC/build-asan/bin}"
export AUTOPOST_SRC AUTOPOST_BIN

# shellcheck source=../fixtures/stack.sh
source "$AUTOPOST_SRC/tests/fixtures/stack.sh"
# shellcheck source=../fixtures/services.sh
source "$AUTOPOST_SRC/tests/fixtures/services.sh"
# shellcheck source=../fixtures/seed.sh
source "$AUTOPOST_SRC/tests/fixtures/seed.sh"

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    if [[ -n ${STACK_DIR:-} && -d $STACK_DIR/logs ]]; then
        local f
        for f in "$STACK_DIR"/logs/*.log; do
            printf -- '---- last lines of %s ----\n' "${f##*/}" >&2
            tail -n 15 "$f" >&2 || true
        done
    fi
    exit 1
}

pass() { printf 'PASS: %s\n' "$*"; }

# e2e_begin [SANDBOX FLAGS...]: stack + sandbox + config + migrations + streams.
e2e_begin() {
    stack_trap
    stack_start || fail "could not start nats-server and PostgreSQL"
    svc_sandbox_start "$@" || fail "could not start the sandbox"
    svc_config
    svc_ctl migrate >/dev/null || fail "migrate failed"
    svc_ctl streams apply >/dev/null || fail "streams apply failed"
}

# e2e_finish: drain every service (SIGTERM must exit 0) and check the logs
# for sanitizer reports.
e2e_finish() {
    svc_stop_all || fail "a service did not exit cleanly on SIGTERM"
    svc_assert_clean_logs || fail "sanitizer reports in service logs"
}

# nats_req SUBJECT BODY: a request over the plain protocol; prints the reply.
nats_req() {
    local subject=$1 body=$2 line
    exec 8<>"/dev/tcp/127.0.0.1/$NATS_PORT"
    printf 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.upgrade 1\r\nPUB %s _INBOX.upgrade %d\r\n%s\r\n' \
        "$subject" "${#body}" "$body" >&8
    while IFS= read -r -t 5 line <&8; do
        if [[ $line == MSG* ]]; then
            IFS= read -r -t 5 line <&8
            printf '%s\n' "${line%$'\r'}"
            break
        fi
    done
    exec 8>&-
}

# nats_pub SUBJECT PAYLOAD_FILE: publish raw bytes with the plain NATS
# protocol (no client library: this is how a foreign or broken producer looks).
nats_pub() {
    local subject=$1 file=$2 size
    size=$(stat -c %s "$file")
    exec 9<>"/dev/tcp/127.0.0.1/$NATS_PORT"
    {
        printf 'CONNECT {"verbose":false,"pedantic":false}\r\n'
        printf 'PUB %s %d\r\n' "$subject" "$size"
        cat "$file"
        printf '\r\nPING\r\n'
    } >&9
    local line
    # Wait for PONG so the publish is processed before we close.
    while IFS= read -r -t 5 line <&9; do
        [[ $line == PONG* ]] && break
    done
    exec 9>&-
}

# Protobuf by hand, for messages no autopost binary would write (foreign or
# broken producers): pb_int FIELD N and pb_str FIELD TEXT print one field.
pb_varint() {
    local v=$1
    while ((v >= 128)); do
        printf '%b' "\\x$(printf %02x $(((v & 127) | 128)))"
        v=$((v >> 7))
    done
    printf '%b' "\\x$(printf %02x "$v")"
}
pb_int() { pb_varint $(($1 << 3)); pb_varint "$2"; }
pb_str() {
    local LC_ALL=C
    pb_varint $((($1 << 3) | 2))
    pb_varint ${#2}
    printf '%s' "$2"
}

# jsz_stream_messages STREAM: messages currently stored in a stream.
jsz_stream_messages() {
    # /jsz is pretty-printed JSON: squeeze the whitespace out, then take the
    # first message count after the stream's name (its "state" object).
    curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/jsz?streams=true" | tr -d ' \n\t' |
        grep -o "\"name\":\"$1\".*" | grep -o '"messages":[0-9]*' | head -n1 | cut -d: -f2
}

# log_count SERVICE EVENT: how many log lines of that event a service wrote.
log_count() {
    local f=$STACK_DIR/logs/$1.log
    [[ -f $f ]] || { echo 0; return; }
    grep -c "\"event\":\"$2\"" "$f" || true
}
