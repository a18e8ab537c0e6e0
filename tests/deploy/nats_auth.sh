# shellcheck shell=bash
# A nats-server that enforces deploy/nats/auth.conf, and a raw NATS protocol
# client to probe what each user may do. Needs tests/fixtures/stack.sh sourced
# and a running stack (ports are reserved for STACK_DIR, the server is
# registered with the stack so stack_stop ends it).
#
#   auth_nats_start AUTH_CONF   -> AUTH_NATS_PORT, AUTH_NATS_MONITOR_PORT,
#                                  AUTH_NATS_URL, AUTH_NATS_LOG, NATS_PW[user]
#   auth_nats_reload AUTH_CONF  -> swap the included file, SIGHUP, wait
#   raw_session USER            -> protocol lines on stdin; prints the replies
#   expect_denied USER pub|sub SUBJECT
#   expect_allowed USER pub|sub SUBJECT [BODY [EXPECT_REGEX]]

declare -gA NATS_PW=()

# The users auth.conf defines, one a line.
auth_conf_users() { grep -oE '^[[:space:]]*user:[[:space:]]*[A-Za-z0-9_-]+' "$1" | awk '{print $2}'; }

# auth_inbox USER: the inbox prefix USER may listen on (admin keeps _INBOX).
auth_inbox() { [[ $1 == admin ]] && echo _INBOX || echo "_INBOX_$1"; }

# The environment variable nats-server reads a user's password from.
auth_password_var() {
    local u=${1^^}
    printf 'NATS_AUTOPOST_%s_PASSWORD' "${u//-/_}"
}

_auth_healthy() {
    curl -fsS --max-time 2 \
        "http://127.0.0.1:$AUTH_NATS_MONITOR_PORT/healthz?js-enabled-only=true" >/dev/null 2>&1
}

# auth_nats_start AUTH_CONF: a JetStream server on free loopback ports that
# includes a copy of AUTH_CONF. Test passwords (random hex) go into the
# variables the file references, as a Secret would in Kubernetes: nats-server
# parses such a value as config text, so it is double-quoted (a bare
# "4e12..." would be read as a number, a bare bcrypt hash as a variable).
auth_nats_start() {
    local conf=$1 user var i
    AUTH_NATS_DIR=$STACK_DIR/authnats
    mkdir -p "$AUTH_NATS_DIR/store"
    cp "$conf" "$AUTH_NATS_DIR/auth.conf"
    while read -r user; do
        var=$(auth_password_var "$user")
        NATS_PW[$user]=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
        export "$var=\"${NATS_PW[$user]}\""
    done < <(auth_conf_users "$conf")
    ((${#NATS_PW[@]} > 0)) || { echo "no users in $conf" >&2; return 1; }
    AUTH_NATS_PORT=$(stack_free_port) || return 1
    AUTH_NATS_MONITOR_PORT=$(stack_free_port) || return 1
    AUTH_NATS_LOG=$AUTH_NATS_DIR/nats.log
    cat >"$AUTH_NATS_DIR/server.conf" <<EOF
listen: 127.0.0.1:$AUTH_NATS_PORT
http: 127.0.0.1:$AUTH_NATS_MONITOR_PORT
server_name: autopost-auth-test
jetstream {
  store_dir: "$AUTH_NATS_DIR/store"
  max_memory_store: 64MB
  max_file_store: 1GB
}
include ./auth.conf
EOF
    nats-server -c "$AUTH_NATS_DIR/server.conf" -l "$AUTH_NATS_LOG" \
        </dev/null >>"$AUTH_NATS_DIR/server.out" 2>&1 &
    AUTH_NATS_PID=$!
    disown "$AUTH_NATS_PID" 2>/dev/null || true
    stack_register_pid "$AUTH_NATS_PID"
    for ((i = 0; i < 100; i++)); do
        _auth_healthy && break
        if ! kill -0 "$AUTH_NATS_PID" 2>/dev/null; then
            cat "$AUTH_NATS_DIR/server.out" "$AUTH_NATS_LOG" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    _auth_healthy || { tail -n 20 "$AUTH_NATS_LOG" >&2; return 1; }
    AUTH_NATS_URL=nats://127.0.0.1:$AUTH_NATS_PORT
    export AUTH_NATS_PORT AUTH_NATS_MONITOR_PORT AUTH_NATS_URL AUTH_NATS_LOG AUTH_NATS_PID
}

# auth_nats_reload AUTH_CONF: new users/permissions without a restart.
auth_nats_reload() {
    local before i
    before=$(grep -c 'Reloaded server configuration' "$AUTH_NATS_LOG" || true)
    cp "$1" "$AUTH_NATS_DIR/auth.conf"
    kill -HUP "$AUTH_NATS_PID"
    for ((i = 0; i < 50; i++)); do
        (($(grep -c 'Reloaded server configuration' "$AUTH_NATS_LOG" || true) > before)) && return 0
        sleep 0.1
    done
    echo "nats-server did not reload its configuration" >&2
    tail -n 10 "$AUTH_NATS_LOG" >&2
    return 1
}

# raw_session USER: connect as USER (password from NATS_PW unless RAW_PASS is
# set), send the protocol lines read from stdin, then PING. Prints what the
# server sent back (INFO and PONG left out) until the PONG arrived and, if
# RAW_EXPECT (a regex) is set, a line matched it; 5 s at most. A publish or
# subscribe the server refuses shows as
#   -ERR 'Permissions Violation for Publish to "SUBJECT"'
raw_session() {
    local user=$1 pass=${RAW_PASS:-${NATS_PW[$1]:-}} fd line pong=0 matched=0 end
    exec {fd}<>"/dev/tcp/127.0.0.1/$AUTH_NATS_PORT" || return 1
    {
        printf 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,'
        printf '"protocol":1,"name":"deploy-test","user":"%s","pass":"%s"}\r\n' "$user" "$pass"
        cat
        printf 'PING\r\n'
    } >&"$fd"
    [[ -n ${RAW_EXPECT:-} ]] || matched=1
    end=$((SECONDS + 5))
    while ((SECONDS <= end)) && IFS= read -r -t 5 line <&"$fd"; do
        line=${line%$'\r'}
        case $line in
            INFO*) continue ;;
            PONG) pong=1 ;;
            *) printf '%s\n' "$line" ;;
        esac
        if ((!matched)) && [[ $line =~ $RAW_EXPECT ]]; then matched=1; fi
        if ((pong && matched)); then break; fi
    done
    exec {fd}>&-
}

# _raw_op pub|sub SUBJECT [BODY]: the protocol lines for one operation. A
# publish carries a reply subject the user may listen on, like a request.
# The inbox is RAW_INBOX (default _INBOX): each service user has its own.
_raw_op() {
    local body=${3-} inbox=${RAW_INBOX:-_INBOX}
    case $1 in
        pub)
            printf 'SUB %s.deploytest.* 90\r\n' "$inbox"
            printf 'PUB %s %s.deploytest.1 %d\r\n%s\r\n' "$2" "$inbox" "${#body}" "$body"
            ;;
        sub) printf 'SUB %s 1\r\n' "$2" ;;
        *) return 2 ;;
    esac
}

# expect_denied USER pub|sub SUBJECT
expect_denied() {
    local user=$1 op=$2 subject=$3 kind out
    kind=$([[ $op == pub ]] && echo Publish || echo Subscription)
    out=$(RAW_INBOX=$(auth_inbox "$user") _raw_op "$op" "$subject" '{}' | RAW_EXPECT='' raw_session "$user")
    if [[ $out != *"Permissions Violation for $kind to \"$subject\""* ]]; then
        fail "$user may $op $subject (server said: ${out:-nothing})"
    fi
    printf 'ok: %-20s cannot %s %s\n' "$user" "$op" "$subject"
}

# expect_allowed USER pub|sub SUBJECT [BODY [EXPECT_REGEX]]: no violation;
# with EXPECT_REGEX, a reply line must match it too (e.g. a PubAck).
expect_allowed() {
    local user=$1 op=$2 subject=$3 body=${4-} expect=${5:-} out
    out=$(RAW_INBOX=$(auth_inbox "$user") _raw_op "$op" "$subject" "$body" | RAW_EXPECT=$expect raw_session "$user")
    if [[ $out == *"-ERR"* ]]; then
        fail "$user may not $op $subject: $out"
    fi
    if [[ -n $expect && ! $out =~ $expect ]]; then
        fail "$user $op $subject: no reply matching /$expect/ (got: ${out:-nothing})"
    fi
    printf 'ok: %-20s may    %s %s\n' "$user" "$op" "$subject"
}

# auth_violations_since OFFSET: the server's permission-violation log lines
# written after byte OFFSET of its log.
auth_violations_since() {
    tail -c +"$(($1 + 1))" "$AUTH_NATS_LOG" | grep -E 'Violation' || true
}

auth_log_size() { stat -c %s "$AUTH_NATS_LOG" 2>/dev/null || echo 0; }
