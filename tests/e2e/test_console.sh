#!/usr/bin/env bash
# The web console against a real run: schedules go through scheduler,
# publisher and dispatcher (some accounts have tokens the sandbox rejects, so
# some fail), then autopost-console serves the page and the JSON API.
#   - the JSON API's counts are PostgreSQL's;
#   - headless Chromium loads the page, runs its JavaScript against the API
#     and the DOM shows those counts; a screenshot is written to the
#     artifact dir ($AUTOPOST_TEST_ARTIFACTS, default <build>/test-artifacts);
#   - a console without console.token_file refuses every POST (403); with
#     one, a missing or wrong Bearer token is 401 and the right one retries
#     (new generation, "retry_requested" by autopost-console in the history).
#   - the consoles log in as members of autopost_console (read-only) and, for
#     the one that acts, autopost_console_actions (0009_narrow_roles.sql);
#   - /api/failed and `autopostctl failed --json` answer the same groups;
#   - a webhook endpoint marked failing is in /api/webhooks/failing (as in
#     `autopostctl status`) and on the page, a healthy one is not;
#   - a Host header not in console.allowed_hosts is 421 (DNS rebinding);
#     console.read_token_file makes every /api/ read need a token; a database
#     that is down or refuses a query is a generic 503 with no SQL text.
# Skips (77) when Chromium is not installed (scripts/setup.sh installs it).
source "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $CHROMIUM ]]; then
    echo "SKIP: chromium not found (scripts/setup.sh installs Debian's chromium package)"
    exit 77
fi
[[ -x $AUTOPOST_BIN/autopost-console ]] || fail "no autopost-console in $AUTOPOST_BIN"
ART=${AUTOPOST_TEST_ARTIFACTS:-$AUTOPOST_BIN/../test-artifacts}/test_console
mkdir -p "$ART"
rm -f "$ART/console.png" "$ART/console.html"

# A slow sandbox and two calls at a time spread the run over a second or
# so, so the throughput chart has more than one bucket.
SVC_CONCURRENCY=2 e2e_begin --latency-ms 60
# 4 accounts: three good ones, one whose token the sandbox calls invalid.
for n in 1 2 3; do
    printf '{"platform":"facebook","external_id":"%d","token":"good-token-%d","name":"Page %d"}\n' \
        $((2000 + n)) "$n" "$n"
done >"$STACK_DIR/accounts.jsonl"
printf '{"platform":"facebook","external_id":"2009","token":"invalid-token","name":"Broken page"}\n' \
    >>"$STACK_DIR/accounts.jsonl"
mapfile -t accounts < <(svc_ctl accounts import "$STACK_DIR/accounts.jsonl")
[[ ${#accounts[@]} -eq 4 ]] || fail "accounts import gave ${#accounts[@]} ids"
at=$(rfc3339_in 0)
for a in "${accounts[@]}"; do
    for n in 1 2 3 4 5 6 7 8; do
        printf '{"account_id":"%s","at":"%s","text":"console post %d of %s"}\n' "$a" "$at" "$n" "$a"
    done
done >"$STACK_DIR/schedules.jsonl"
svc_ctl import "$STACK_DIR/schedules.jsonl" >/dev/null || fail "import"
svc_start dispatcher
svc_start publisher-facebook
svc_start scheduler
SVC_QUIET=1 svc_wait_terminal 32 120 || fail "the run did not finish"
published=$(svc_count_status published)
failed=$(svc_count_status failed)
[[ $published -eq 24 && $failed -eq 8 ]] || fail "run: published $published failed $failed, expected 24 and 8"
pass "a real run: $published published, $failed failed"

# Two consoles: read-only, and one that takes a token.
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && printf '%s\n' "$token" >"$STACK_DIR/console.token")
ro_port=$(stack_free_port)
rw_port=$(stack_free_port)
stack_psql -c "CREATE ROLE console_ro LOGIN IN ROLE autopost_console" \
    -c "CREATE ROLE console_rw LOGIN IN ROLE autopost_console, autopost_console_actions" \
    -c "CREATE ROLE console_none LOGIN" >/dev/null || fail "cannot create the console users"
# dsn_as USER: the test database as that login user.
dsn_as() { printf 'host=127.0.0.1 port=%s dbname=autopost user=%s connect_timeout=5' "$PG_PORT" "$1"; }
console_start() { # NAME PORT [TOKEN_FILE [MORE YAML LINES]]; DSN from $CONSOLE_DSN
    local cfg=$STACK_DIR/$1.yaml
    cp "$AUTOPOST_CONFIG" "$cfg"
    printf 'console:\n  http_bind: 127.0.0.1\n  http_port: %s\n' "$2" >>"$cfg"
    [[ -z ${3:-} ]] || printf '  token_file: %s\n' "$3" >>"$cfg"
    [[ -z ${4:-} ]] || printf '%s\n' "$4" >>"$cfg"
    AUTOPOST_POSTGRES_DSN=${CONSOLE_DSN:-$AUTOPOST_POSTGRES_DSN} \
    "$AUTOPOST_BIN/autopost-console" --config "$cfg" >>"$STACK_DIR/logs/$1.log" 2>&1 &
    SVC_PIDS[$1]=$!
    stack_register_pid "$!"
    stack_wait_for curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null || fail "$1 did not start"
}
CONSOLE_DSN=$(dsn_as console_ro) console_start console-ro "$ro_port"
CONSOLE_DSN=$(dsn_as console_rw) console_start console-rw "$rw_port" "$STACK_DIR/console.token"
RO=http://127.0.0.1:$ro_port
RW=http://127.0.0.1:$rw_port

# Two webhook endpoints of the accounts' tenant; autopost-webhooks marks one
# failing when its deliveries give up (failing_since), here set by hand.
WH_TENANT=$(stack_psql -c "SELECT tenant_id FROM social_accounts WHERE id = '${accounts[0]}'")
read -r wh_failing _ < <(svc_ctl webhooks add --tenant "$WH_TENANT" --url https://hooks.example.com/gone \
    --events '*') || fail "webhooks add"
read -r wh_fine _ < <(svc_ctl webhooks add --tenant "$WH_TENANT" --url https://hooks.example.com/fine \
    --events '*') || fail "webhooks add"
stack_psql -c "UPDATE webhook_endpoints SET failing_since = now() - interval '5 minutes'
               WHERE id = '$wh_failing'" >/dev/null || fail "cannot mark $wh_failing failing"

# ---- JSON API -------------------------------------------------------------------
json() { curl -fsS "$1" | jq -r "$2"; }
[[ $(json "$RO/api/overview" .published) == "$published" ]] || fail "overview published"
[[ $(json "$RO/api/overview" .failed) == "$failed" ]] || fail "overview failed"
[[ $(json "$RO/api/overview" .total) == 32 ]] || fail "overview total"
[[ $(json "$RO/api/overview" .read_only) == true ]] || fail "overview read_only"
[[ $(json "$RW/api/overview" .read_only) == false ]] || fail "rw console says read-only"
[[ $(json "$RO/api/platforms" '.[0].platform') == facebook ]] || fail "platforms"
[[ $(json "$RO/api/platforms" '.[0].published') == "$published" ]] || fail "platforms published"
# Consumer lag comes from NATS, read every 5 s by the console's main loop.
stack_wait_for bash -c "curl -fsS '$RO/api/platforms' | jq -e '.[0].lag == 0 and .[0].in_flight == 0'" \
    >/dev/null || fail "platforms lag: $(curl -sS "$RO/api/platforms")"
[[ $(json "$RO/api/overview" .nats.connected) == true ]] || fail "overview: NATS not connected"
[[ $(json "$RO/api/overview" .dispatcher.pending) == 0 ]] || fail "overview: dispatcher lag"
# The broken account's first call fails with the platform's 190; its other
# schedules fail without a call once the account is marked for reauth.
[[ $(json "$RO/api/failed" '[.[].count] | add') == 8 ]] || fail "failed groups: $(curl -sS "$RO/api/failed")"
[[ $(json "$RO/api/failed" '[.[] | select(.error_code == "190")] | .[0].count') == 1 ]] ||
    fail "failed groups: the platform's own refusal is missing"
[[ $(json "$RO/api/failed" '.[0].error_class') == reauth ]] || fail "failed reason class"
series_pub=$(json "$RO/api/series" '[.[].published] | add')
[[ $series_pub == "$published" ]] || fail "series published sum $series_pub"
[[ $(json "$RO/api/series" '[.[].late_p50_ms | select(. != null)] | length') -ge 1 ]] ||
    fail "series has no lateness"
bad_id=$(stack_psql -c "SELECT id FROM post_schedules WHERE status = 'failed' ORDER BY id LIMIT 1")
good_id=$(stack_psql -c "SELECT id FROM post_schedules WHERE status = 'published' ORDER BY id LIMIT 1")
events=$(json "$RO/api/schedules/$good_id" '[.history[].event] | join(",")')
[[ $events == queued,published ]] || fail "history of $good_id: $events"
[[ $(json "$RO/api/schedules/$bad_id" .status) == failed ]] || fail "schedule $bad_id"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$RO/api/schedules/00000000-0000-0000-0000-000000000000")
[[ $code == 404 ]] || fail "unknown schedule: HTTP $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$RO/api/schedules/not-a-uuid")
[[ $code == 400 ]] || fail "bad id: HTTP $code"
csp=$(curl -sS -D - -o /dev/null "$RO/" | tr -d '\r' | grep -i '^content-security-policy:' || true)
[[ $csp == *"default-src 'self'"* ]] || fail "page has no same-origin CSP: $csp"
# The failing endpoint, as `autopostctl status --json` lists it, through the
# read-only console's role (0024: the list's columns, never the secret).
[[ $(json "$RO/api/webhooks/failing" '[.[] | "\(.id) \(.tenant_id) \(.url)"] | join(",")') == \
    "$wh_failing $WH_TENANT https://hooks.example.com/gone" ]] ||
    fail "failing webhooks: $(curl -sS "$RO/api/webhooks/failing")"
[[ $(json "$RO/api/webhooks/failing" '.[0].failing_since') == \
    "$(svc_ctl status --json | jq -r '.failing_webhooks[0].failing_since // empty')" ]] ||
    fail "the console's failing_since differs from autopostctl status: $(curl -sS "$RO/api/webhooks/failing")"
pass "JSON API matches PostgreSQL"

# ---- the page in headless Chromium ------------------------------------------------
chrome() {
    # A private profile dir: nothing from the machine's own browser leaks in.
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --user-data-dir="$STACK_DIR/chromium" --virtual-time-budget=15000 "$@" \
        2>>"$STACK_DIR/logs/chromium.log"
}
chrome --dump-dom "$RO/" >"$ART/console.html" || fail "chromium --dump-dom failed"
grep -q 'data-loaded="1"' "$ART/console.html" || fail "the page did not finish loading the API"
dom_count() { sed -n "s/.*id=\"count-$1\">\([0-9]*\)<.*/\1/p" "$ART/console.html" | head -n1; }
[[ $(dom_count published) == "$published" ]] || fail "DOM published: '$(dom_count published)'"
[[ $(dom_count failed) == "$failed" ]] || fail "DOM failed: '$(dom_count failed)'"
[[ $(dom_count total) == 32 ]] || fail "DOM total: '$(dom_count total)'"
grep -q '<tr data-platform="facebook">' "$ART/console.html" || fail "DOM: no facebook queue row"
grep -q 'class="bar-published"' "$ART/console.html" || fail "DOM: no throughput bars"
grep -q 'Invalid OAuth access token' "$ART/console.html" || fail "DOM: failed list lacks the reason"
grep -q "<tr class=\"status-failed\" data-webhook=\"$wh_failing\">" "$ART/console.html" &&
    grep -q 'https://hooks.example.com/gone' "$ART/console.html" ||
    fail "DOM: the failing webhook $wh_failing is not shown"
! grep -q "data-webhook=\"$wh_fine\"" "$ART/console.html" || fail "DOM: a healthy webhook is shown as failing"
grep -q '<p id="webhooks-failing-none" class="muted" hidden=""' "$ART/console.html" ||
    fail "DOM: 'no webhook is failing' shown beside a failing one"
grep -q '<form id="token-form" class="token" hidden=""' "$ART/console.html" ||
    fail "DOM: the read-only console offers a token field"
chrome --dump-dom "$RW/" >"$ART/console-rw.html" || fail "chromium (token console)"
grep -q '<form id="token-form" class="token">' "$ART/console-rw.html" ||
    fail "DOM: the token console hides its token field"
# A schedule's history view, opened by its link.
chrome --dump-dom "$RO/#schedule=$bad_id" >"$ART/schedule.html" || fail "chromium (schedule)"
grep -q 'class="event-failed"' "$ART/schedule.html" || fail "DOM: history of $bad_id not shown"
chrome --screenshot="$ART/console.png" --window-size=1100,1250 --hide-scrollbars "$RO/" \
    >/dev/null || fail "chromium --screenshot failed"
[[ -s $ART/console.png ]] || fail "no screenshot"
[[ $(head -c 8 "$ART/console.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
    fail "the screenshot is not a PNG"
pass "headless Chromium shows the run's counts; screenshot $ART/console.png ($(stat -c %s "$ART/console.png") bytes)"

# ---- the token rules -------------------------------------------------------------------
post() { curl -sS -o "$STACK_DIR/post.out" -w '%{http_code}' -X POST "$@"; }
[[ $(post "$RO/api/schedules/$bad_id/retry") == 403 ]] || fail "read-only console allowed a POST"
[[ $(post -H "Authorization: Bearer $token" "$RO/api/schedules/$bad_id/retry") == 403 ]] ||
    fail "read-only console took a token"
[[ $(post "$RW/api/schedules/$bad_id/retry") == 401 ]] || fail "POST without token not 401"
[[ $(post -H "Authorization: Bearer ${token}x" "$RW/api/schedules/$bad_id/retry") == 401 ]] ||
    fail "wrong token not 401"
[[ $(post -H "Authorization: Bearer ${token:0:10}" "$RW/api/schedules/$bad_id/retry") == 401 ]] ||
    fail "token prefix not 401"
[[ $(stack_psql -c "SELECT generation FROM post_schedules WHERE id = '$bad_id'") == 1 ]] ||
    fail "a refused POST changed the schedule"
code=$(post -H "Authorization: Bearer $token" "$RW/api/schedules/$bad_id/retry")
[[ $code == 200 ]] || fail "retry with the token: HTTP $code $(cat "$STACK_DIR/post.out")"
[[ $(jq -r .generation "$STACK_DIR/post.out") == 2 ]] || fail "retry reply: $(cat "$STACK_DIR/post.out")"
row=$(stack_psql -c "SELECT generation FROM post_schedules WHERE id = '$bad_id'")
[[ $row == 2 ]] || fail "retry did not bump the generation: $row"
actor=$(stack_psql -c "SELECT actor FROM schedule_attempts WHERE schedule_id = '$bad_id'
                        AND event = 'retry_requested'")
[[ $actor == autopost-console ]] || fail "retry not in the history: '$actor'"
# A published schedule is not retryable; a published one cannot be cancelled.
[[ $(post -H "Authorization: Bearer $token" "$RW/api/schedules/$good_id/retry") == 409 ]] ||
    fail "retry of a published schedule not 409"
[[ $(post -H "Authorization: Bearer $token" "$RW/api/schedules/$good_id/cancel") == 409 ]] ||
    fail "cancel of a published schedule not 409"
# The retried one ends again, without a call: its account still needs to be
# reconnected, so the scheduler fails it (history: retry_requested, failed).
SVC_QUIET=1 svc_wait_terminal 32 60 || fail "the retried schedule did not finish"
stack_wait_for bash -c "[[ \$(curl -fsS '$RO/api/schedules/$bad_id' | jq -r '[.history[] | select(.generation == 2) | .event] | join(\",\")') == retry_requested,failed ]]" \
    >/dev/null || fail "history of the retry: $(curl -sS "$RO/api/schedules/$bad_id")"
# Its history view: both generations and the retry between them.
chrome --screenshot="$ART/schedule.png" --window-size=1100,800 --hide-scrollbars \
    "$RO/#schedule=$bad_id" >/dev/null || fail "chromium --screenshot (schedule)"
[[ -s $ART/schedule.png ]] || fail "no schedule screenshot"
chrome --dump-dom "$RO/#schedule=$bad_id" >"$ART/schedule.html" || fail "chromium (schedule)"
grep -q 'class="event-retry_requested"' "$ART/schedule.html" || fail "DOM: no retry in the history"
pass "read-only without a token (403), 401 for a missing or wrong token, retry with it"

# ---- Host names (DNS rebinding) ----------------------------------------------------
code_of() { curl -sS -o "$STACK_DIR/get.out" -w '%{http_code}' "$@"; }
for host in "localhost:$ro_port" "127.0.0.1:$ro_port" "LOCALHOST" "[::1]:$ro_port"; do
    [[ $(code_of -H "Host: $host" "$RO/api/overview") == 200 ]] || fail "Host $host refused"
done
for host in "attacker.example:$ro_port" "attacker.example" "localhost.attacker.example" \
    "127.0.0.1.nip.io:$ro_port"; do
    [[ $(code_of -H "Host: $host" "$RO/api/overview") == 421 ]] || fail "Host '$host' answered"
    [[ $(code_of -H "Host: $host" "$RO/") == 421 ]] || fail "Host '$host' got the page"
done
[[ $(code_of -H "Host: attacker.example" -H "Authorization: Bearer $token" \
    -X POST "$RW/api/schedules/$bad_id/cancel") == 421 ]] || fail "a foreign Host could act"
[[ $(code_of -H "Host: 10.1.2.3:8090" "$RO/healthz") == 200 ]] || fail "a probe's Host refused"
named_port=$(stack_free_port)
console_start console-named "$named_port" "" "  allowed_hosts: Console.Example, ops.example, [fd00::1]"
NAMED=http://127.0.0.1:$named_port
[[ $(code_of -H "Host: console.example:443" "$NAMED/api/overview") == 200 ]] ||
    fail "a configured name refused"
[[ $(code_of -H "Host: [fd00::1]:8090" "$NAMED/api/overview") == 200 ]] ||
    fail "a configured IPv6 literal refused"
[[ $(code_of "$NAMED/api/overview") == 421 ]] || fail "allowed_hosts set, loopback still answered"
pass "a foreign Host header is 421, configured and loopback names answer, /healthz always"

# ---- a token for reads ----------------------------------------------------------------
read_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && printf '%s\n' "$read_token" >"$STACK_DIR/console.read_token")
rt_port=$(stack_free_port)
CONSOLE_DSN=$(dsn_as console_rw) console_start console-rt "$rt_port" "$STACK_DIR/console.token" \
    "  read_token_file: $STACK_DIR/console.read_token"
RT=http://127.0.0.1:$rt_port
for path in /api/overview /api/platforms /api/failed /api/series /api/schedules \
    "/api/schedules/$bad_id"; do
    [[ $(code_of "$RT$path") == 401 ]] || fail "$path read without a token"
    [[ $(code_of -H "Authorization: Bearer ${read_token}x" "$RT$path") == 401 ]] ||
        fail "$path read with a wrong token"
    [[ $(code_of -H "Authorization: Bearer $read_token" "$RT$path") == 200 ]] ||
        fail "$path refused the read token"
    [[ $(code_of -H "Authorization: Bearer $token" "$RT$path") == 200 ]] ||
        fail "$path refused the action token"
done
[[ $(code_of "$RT/") == 200 ]] || fail "the page itself needs no token"
[[ $(code_of -H "Authorization: Bearer $read_token" -X POST "$RT/api/schedules/$bad_id/cancel") \
    == 401 ]] || fail "the read token could act"
pass "console.read_token_file: every /api/ read needs the read (or action) token"

# ---- one grouping of failures: /api/failed and `autopostctl failed` -------------------
# Both read store/sql/failed.sql. Two failed rows whose messages share their
# first 300 characters are two groups with their whole messages (the console
# once grouped by a 300-character cut), and the console's groups are the
# ones autopostctl prints, field for field.
prefix=$(printf 'x%.0s' {1..300})
mapfile -t two < <(stack_psql -c "SELECT id FROM post_schedules WHERE status = 'failed'
                                  ORDER BY id LIMIT 2")
stack_psql -c "UPDATE post_schedules SET error_class = 'permanent', error_code = 'prefix_test',
               error_message = '$prefix ' || id::text
               WHERE id IN ('${two[0]}', '${two[1]}')" >/dev/null
curl -fsS "$RO/api/failed?limit=100" >"$STACK_DIR/failed.console.json" || fail "/api/failed"
[[ $(jq '[.[] | select(.error_code == "prefix_test")] | length' "$STACK_DIR/failed.console.json") \
    == 2 ]] || fail "messages sharing 300 characters merged: $(cat "$STACK_DIR/failed.console.json")"
[[ $(jq '[.[] | select(.error_code == "prefix_test") | .error_message | length] | min' \
    "$STACK_DIR/failed.console.json") -eq 337 ]] || fail "a failed group's message was cut"
svc_ctl failed --limit 100 --json >"$STACK_DIR/failed.ctl.json" || fail "autopostctl failed --json"
[[ $(jq -S 'map(.example_ids |= fromjson)' "$STACK_DIR/failed.console.json") == \
    "$(jq -S . "$STACK_DIR/failed.ctl.json")" ]] ||
    fail "console and autopostctl group failures differently: $(cat "$STACK_DIR/failed.ctl.json")"
pass "/api/failed and autopostctl failed: one grouping, whole messages"

# ---- database errors: a generic 503 ------------------------------------------------------
down_port=$(stack_free_port)
CONSOLE_DSN="host=127.0.0.1 port=1 dbname=autopost user=console_ro connect_timeout=1" \
    console_start console-down "$down_port"
denied_port=$(stack_free_port)
CONSOLE_DSN=$(dsn_as console_none) console_start console-denied "$denied_port"
for base in "http://127.0.0.1:$down_port" "http://127.0.0.1:$denied_port"; do
    for path in /api/overview "/api/schedules/$bad_id" /api/schedules; do
        [[ $(code_of "$base$path") == 503 ]] || fail "$base$path: not 503: $(cat "$STACK_DIR/get.out")"
        [[ $(cat "$STACK_DIR/get.out") == '{"error":"database unavailable"}' ]] ||
            fail "$base$path told more than 'database unavailable': $(cat "$STACK_DIR/get.out")"
    done
done
grep -q 'permission denied' "$STACK_DIR/logs/console-denied.log" ||
    fail "the refused query's reason is not in the console's log"
# The consoles with their own roles were refused nothing they need.
! grep -l 'permission denied' "$STACK_DIR"/logs/console-{ro,rw,rt,named}.log ||
    fail "a console role lacks a privilege"
pass "PostgreSQL down or refusing: 503 'database unavailable', the reason only in the log"

e2e_finish
pass "console"
