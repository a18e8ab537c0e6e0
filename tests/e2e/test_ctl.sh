#!/usr/bin/env bash
# autopostctl against a real PostgreSQL and NATS JetStream: migrations (also
# two at once), accounts with sealed tokens, schedule validation, all-or-
# nothing import, list/show/cancel/retry, and status with the bus up and down.
# No scheduler runs, so schedules stay where the commands put them.
source "$(dirname "$0")/../fixtures/ctl_stack.sh"
ctl_stack_begin
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

# jget PATH: a value out of the JSON in $OUT, e.g. PATH={platforms,facebook,pending}
# (PostgreSQL parses it, so the test needs no jq).
jget() {
    stack_psql -v p="$1" <<SQL
\\set j \`cat '$OUT'\`
SELECT (:'j')::jsonb #>> (:'p')::text[];
SQL
}

count_schedules() { stack_psql -c "SELECT count(*) FROM post_schedules"; }

# ---- command line -----------------------------------------------------------
run --help
[[ $RC -eq 0 ]] && grep -q "usage: autopostctl" "$OUT" || fail "--help"
expect_fail 2 'unknown command' frobnicate
expect_fail 2 'unknown option' list --bogus
ok "help and usage errors"

# ---- migrate: concurrent, then again -----------------------------------------
pids=()
for i in 1 2 3; do
    ctl migrate >"$STACK_DIR/migrate.$i" 2>&1 &
    pids+=($!)
done
for i in 0 1 2; do
    wait "${pids[$i]}" || fail "concurrent migrate $((i + 1)) failed: $(cat "$STACK_DIR/migrate.$((i + 1))")"
done
applied=$(cat "$STACK_DIR"/migrate.* | grep -c '^applied 0001_init' || true)
[[ $applied -eq 1 ]] || fail "0001_init applied $applied times by concurrent migrates"
[[ $(stack_psql -c "SELECT count(*) FROM schema_migrations WHERE version = 1") == 1 ]] ||
    fail "schema_migrations does not list version 1 exactly once"
run migrate
[[ $RC -eq 0 ]] && grep -q 'up to date' "$OUT" || fail "second migrate: $(cat "$OUT" "$ERR")"
ok "migrate is serialised and idempotent"

run streams apply
[[ $RC -eq 0 ]] && grep -q 'publisher-facebook' "$OUT" && grep -q 'AUTOPOST_EVENTS  *autopost.events.>' "$OUT" ||
    fail "streams apply: $(cat "$OUT" "$ERR")"
ok "streams apply"

# ---- accounts ----------------------------------------------------------------
TOKEN="EAAB-very-secret-token-$RANDOM$RANDOM"
run accounts add --platform facebook --external-id 1001 --token "$TOKEN" --name "Test Page"
[[ $RC -eq 0 ]] || fail "accounts add: $(cat "$ERR")"
account=$(cat "$OUT")
[[ $account =~ $UUID_RE ]] || fail "accounts add printed '$account', not a UUID"
leaks=$(stack_psql -v t="$TOKEN" -v id="$account" <<'SQL'
SELECT count(*) FROM social_accounts
WHERE id = (:'id')::uuid AND position(convert_to(:'t', 'UTF8') IN credentials) > 0;
SQL
)
[[ $leaks -eq 0 ]] || fail "the token is stored in clear"
[[ $(stack_psql -c "SELECT substring(credentials from 1 for 3) = 'AP2'::bytea FROM social_accounts WHERE id = '$account'") == t ]] ||
    fail "credentials are not an AP2 (platform-bound) sealed blob"
echo "$TOKEN" | ctl accounts add --platform facebook --external-id 1002 --token - >"$OUT" 2>"$ERR" ||
    fail "accounts add --token -: $(cat "$ERR")"
disabled=$(cat "$OUT")
run accounts set-status "$disabled" disabled
[[ $RC -eq 0 ]] || fail "accounts set-status: $(cat "$ERR")"
expect_fail 1 'not configured (configured: facebook)' accounts add --platform linkedin --external-id 1 --token x
expect_fail 1 'already exists' accounts add --platform facebook --external-id 1001 --token x
# A CR/LF in a token would be sent as extra header lines: refused, nothing stored.
cred_before=$(stack_psql -c "SELECT md5(credentials) FROM social_accounts WHERE id = '$account'")
expect_fail 1 'must not contain control characters' \
    accounts add --platform facebook --external-id 1003 --token $'tok\r\nX-Injected: 1'
expect_fail 1 'must not contain control characters' \
    accounts add --platform facebook --external-id 1003 --token ok --refresh-token $'rt\x7f'
expect_fail 1 'must not contain control characters' accounts set-credential "$account" --token $'tok\r\n'
printf '{"platform":"facebook","external_id":"1003","token":"a\\r\\nX-Injected: 1"}\n' >"$STACK_DIR/crlf.jsonl"
expect_fail 1 "crlf.jsonl:1: token or refresh_token contains a control character" \
    accounts import "$STACK_DIR/crlf.jsonl"
[[ $(stack_psql -c "SELECT count(*) FROM social_accounts WHERE external_id = '1003'") -eq 0 ]] ||
    fail "a token with control characters was stored"
[[ $(stack_psql -c "SELECT md5(credentials) FROM social_accounts WHERE id = '$account'") == "$cred_before" ]] ||
    fail "set-credential with a CRLF token changed the stored credential"
ok "accounts: tokens with control characters refused, nothing stored"
run accounts list --json
[[ $RC -eq 0 ]] || fail "accounts list --json"
[[ $(jget '{1,status}') == disabled ]] || fail "account list: $(cat "$OUT")"
! grep -q "$TOKEN" "$OUT" || fail "accounts list printed the token"
run accounts list
grep -q "$account" "$OUT" && ! grep -q "$TOKEN" "$OUT" || fail "accounts list"
ok "accounts: token sealed, never printed"

accounts_file=$STACK_DIR/accounts.jsonl
{
    printf '{"platform":"facebook","external_id":"2001","token":"%s-a","name":"Bulk A"}\n' "$TOKEN"
    printf '{"platform":"facebook","external_id":"2002","token":"%s-b"}\n' "$TOKEN"
    printf '{"platform":"facebook","external_id":"2001","token":"again"}\n'
    printf '{"platform":"myspace","external_id":"2003","token":"x"}\n'
} >"$accounts_file"
expect_fail 1 "$accounts_file:3: duplicate of line 1" accounts import "$accounts_file"
grep -q "$accounts_file:4: platform \"myspace\" is not configured" "$ERR" || fail "accounts import: $(cat "$ERR")"
head -n 2 "$accounts_file" >"$accounts_file.good"
printf '{"platform":"facebook","external_id":"1001","token":"t"}\n' >>"$accounts_file.good"
expect_fail 1 "$accounts_file.good:3: account already exists (id $account)" accounts import "$accounts_file.good"
head -n 2 "$accounts_file" | ctl accounts import - >"$OUT" 2>"$ERR" || fail "accounts import -: $(cat "$ERR")"
[[ $(grep -cE "$UUID_RE" "$OUT") -eq 2 && $(wc -l <"$OUT") -eq 2 ]] || fail "accounts import printed: $(cat "$OUT")"
[[ $(stack_psql -v t="$TOKEN" <<'SQL'
SELECT count(*) FROM social_accounts WHERE position(convert_to(:'t', 'UTF8') IN credentials) > 0;
SQL
) -eq 0 ]] || fail "accounts import stored a token in clear"
ok "accounts import: all or nothing, ids in order"

# ---- schedule: validation ------------------------------------------------------
expect_fail 1 'content is empty' schedule --account "$account" --at now --text ""
expect_fail 1 'only http:// and https://' schedule --account "$account" --at now --text hi --media ftp://example.test/a.jpg
expect_fail 1 'only http:// and https://' schedule --account "$account" --at now --text hi --link javascript:alert
expect_fail 1 'not an RFC 3339 time' schedule --account "$account" --at "next tuesday" --text hi
expect_fail 1 'not an RFC 3339 time' schedule --account "$account" --at 2026-02-30T10:00:00Z --text hi
expect_fail 1 'account 00000000-0000-0000-0000-00000000abcd not found' schedule --account 00000000-0000-0000-0000-00000000abcd --at now --text hi
expect_fail 1 'not an account id' schedule --account 42 --at now --text hi
expect_fail 1 'is disabled' schedule --account "$disabled" --at now --text hi
expect_fail 1 'not valid for facebook' schedule --account "$account" --at now --text "$(head -c 63207 /dev/zero | tr '\0' a)"
expect_fail 2 '--account is required' schedule --at now --text hi
[[ $(count_schedules) -eq 0 ]] || fail "a rejected schedule was stored"
ok "schedule rejects bad input with clear reasons"

run schedule --account "$account" --at 2035-06-01T09:00:00+02:00 --text "hello" \
    --link https://example.test/ --media https://example.test/a.jpg
[[ $RC -eq 0 ]] || fail "schedule: $(cat "$ERR")"
sched=$(cat "$OUT")
[[ $sched =~ $UUID_RE ]] || fail "schedule printed '$sched'"
run schedule --account "$account" --at now --text "right away"
[[ $RC -eq 0 ]] || fail "schedule --at now: $(cat "$ERR")"
now_sched=$(cat "$OUT")
ok "schedule stores valid posts"

# ---- import --------------------------------------------------------------------
bad=$STACK_DIR/bad.jsonl
{
    for i in 1 2; do printf '{"account_id":"%s","at":"2035-01-01T00:00:00Z","text":"ok %d"}\n' "$account" "$i"; done
    printf '{"account_id":"%s","at":"2035-01-01T00:00:00Z","text":"bad","media":[{"url":"ftp://x.test/a.jpg"}]}\n' "$account"
    echo
    printf '{"account_id":"%s","at":"2035-01-01T00:00:00Z","text":"ok 4"}\n' "$account"
    printf '{"account_id":"%s","at":"soon","text":"bad time"}\n' "$account"
    printf '{"account_id":"%s","at":"now","text":"ok 6","link":"https://example.test/6"}\n' "$account"
} >"$bad"
before=$(count_schedules)
expect_fail 1 "$bad:3: media\[0\]: only http" import "$bad"
grep -q "$bad:6: at: \"soon\"" "$ERR" || fail "import did not report line 6: $(cat "$ERR")"
[[ $(grep -c "^$bad:" "$ERR") -eq 2 ]] || fail "import reported other lines too: $(cat "$ERR")"
[[ $(count_schedules) -eq $before ]] || fail "a failed import stored rows"
ok "import reports every bad line and imports nothing"

good=$STACK_DIR/good.jsonl
for ((i = 1; i <= 1000; i++)); do
    printf '{"account_id":"%s","at":"2035-01-01T00:%02d:00Z","text":"post %d\\twith a tab, a \\\\ and \\"quotes\\"","media":[{"url":"https://cdn.example.test/%d.jpg","type":"image","alt_text":"picture %d"}]}\n' \
        "$account" $((i % 60)) "$i" "$i" "$i"
done >"$good"
run import "$good"
[[ $RC -eq 0 ]] && grep -qx 'imported 1000 schedules' "$OUT" || fail "good import: $(cat "$OUT" "$ERR")"
[[ $(count_schedules) -eq $((before + 1000)) ]] || fail "import did not store 1000 schedules"
[[ $(stack_psql -c "SELECT count(*) FROM posts WHERE text = E'post 7\twith a tab, a \\\\ and \"quotes\"' AND media->0->>'alt_text' = 'picture 7'") -eq 1 ]] ||
    fail "imported text or media came out different"
head -n 3 "$good" | ctl import --ids - >"$OUT" 2>"$ERR" || fail "import --ids -: $(cat "$ERR")"
[[ $(grep -cE "$UUID_RE" "$OUT") -eq 3 ]] || fail "import --ids printed: $(cat "$OUT")"
ok "import of 1000 lines, and --ids from stdin"

# ---- list / show -----------------------------------------------------------------
run list --limit 5
[[ $RC -eq 0 && $(grep -c pending "$OUT") -eq 5 ]] || fail "list --limit 5: $(cat "$OUT")"
run list --json --status pending --platform facebook --limit 2000
[[ $(jget '{0,status}') == pending ]] || fail "list --json"
[[ $(printf '%s' "$(cat "$OUT")" | grep -o '"id"' | wc -l) -eq 1005 ]] || fail "list --json count"
expect_fail 2 'unknown status' list --status sleeping
run show "$sched" --json
[[ $RC -eq 0 ]] || fail "show --json: $(cat "$ERR")"
js=$(cat "$OUT")
[[ $(jget '{status}') == pending ]] || fail "show: status"
[[ $(jget '{scheduled_at}') == 2035-06-01T07:00:00.000Z ]] || fail "show: scheduled_at $(jget '{scheduled_at}')"
[[ $(jget '{post,text}') == hello ]] || fail "show: text"
[[ $(jget '{post,media,0,url}') == https://example.test/a.jpg ]] || fail "show: media"
[[ $(jget '{account,external_id}') == 1001 ]] || fail "show: account"
run show "$sched"
grep -q 'status *pending' "$OUT" || fail "show: $(cat "$OUT")"
expect_fail 1 'not found' show 00000000-0000-0000-0000-000000000000
ok "list and show"

# ---- cancel / retry ---------------------------------------------------------------
run cancel "$sched"
[[ $RC -eq 0 ]] && grep -q 'was pending' "$OUT" || fail "cancel: $(cat "$OUT" "$ERR")"
expect_fail 1 'it is cancelled' cancel "$sched"
run show "$sched" --json
js=$(cat "$OUT")
[[ $(jget '{status}') == cancelled ]] || fail "cancel did not cancel"
[[ $(jget '{error_message}') == "cancelled by operator" ]] || fail "cancel: error_message"
[[ $(jget '{history,0,event}') == cancelled && $(jget '{history,0,actor}') == autopostctl ]] ||
    fail "cancel left no history line: $js"

# A queued job is already on the bus: the cancel must reach the publishers' KV.
stack_psql -c "UPDATE post_schedules SET status = 'queued', queued_at = now() WHERE id = '$now_sched'"
run cancel "$now_sched"
[[ $RC -eq 0 ]] && grep -q 'was queued' "$OUT" && grep -q 'recorded the cancellation in KV' "$OUT" ||
    fail "cancel of a queued schedule: $(cat "$OUT" "$ERR")"
kv=$(curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/jsz?streams=true" | tr -d ' \n' |
    grep -o '"name":"KV_autopost_attempts_facebook"[^]]*' | grep -o '"messages":[0-9]*' | head -n1 |
    cut -d: -f2 || true)
[[ ${kv:-0} -eq 1 ]] || fail "no cancellation record in the KV bucket (messages: ${kv:-none})"
# ...unless a publisher already holds the job: its call may have been made,
# so nothing changes (exit 1) rather than a "cancelled" row for a live post.
kv_put() { # kv_put KEY VALUE: an attempt record as a publisher writes it
    local line
    exec 7<>"/dev/tcp/127.0.0.1/$NATS_PORT"
    printf 'CONNECT {"verbose":false}\r\nPUB $KV.autopost_attempts_facebook.%s %d\r\n%s\r\nPING\r\n' \
        "$1" "${#2}" "$2" >&7
    while IFS= read -r -t 5 line <&7; do [[ $line == PONG* ]] && break; done
    exec 7>&-
}
run schedule --account "$account" --at now --text "held by a publisher"
held=$(cat "$OUT")
stack_psql -c "UPDATE post_schedules SET status = 'queued', queued_at = now() WHERE id = '$held'" >/dev/null
kv_put "$held-1" "started attempt=1 at=$(date +%s%3N) by=test-publisher"
expect_fail 1 'a publisher already holds it' cancel "$held"
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$held'") == queued ]] ||
    fail "a refused cancel changed $held"

run retry "$sched"
[[ $RC -eq 0 && $(cat "$OUT") == 2 ]] || fail "retry printed '$(cat "$OUT")': $(cat "$ERR")"
run show "$sched" --json
js=$(cat "$OUT")
[[ $(jget '{status}') == pending && $(jget '{generation}') == 2 ]] || fail "retry: $js"
[[ $(jget '{attempts}') == 0 && $(jget '{error_message}') == "" ]] || fail "retry did not reset: $js"
[[ $(jget '{history,1,event}') == retry_requested && $(jget '{history,1,generation}') == 2 ]] ||
    fail "retry left no history line: $js"
due=$(stack_psql -c "SELECT scheduled_at <= now() FROM post_schedules WHERE id = '$sched'")
[[ $due == t ]] || fail "retry did not make the schedule due now"
expect_fail 1 'it is pending' retry "$sched"
ok "cancel (a queued one through the attempt record; refused while a publisher holds it) and retry"

# ---- times in the past (scheduler.max_past, default 5m) -------------------------------
ago() { date -u -d "@$(($(date +%s) - $1))" +%Y-%m-%dT%H:%M:%SZ; }
before=$(count_schedules)
expect_fail 1 'at: 2020-01-01T00:00:00.*in the past, more than scheduler.max_past (5m)' \
    schedule --account "$account" --at 2020-01-01T00:00:00Z --text "six years late"
grep -q -- '--allow-past' "$ERR" || fail "the refusal does not say how to override: $(cat "$ERR")"
expect_fail 1 'scheduler.max_past' schedule --account "$account" --at "$(ago 600)" --text "10 min late"
[[ $(count_schedules) -eq $before ]] || fail "a refused schedule stored a row"
run schedule --account "$account" --at "$(ago 60)" --text "a minute late"
[[ $RC -eq 0 ]] || fail "a time within max_past was refused: $(cat "$ERR")"
run schedule --account "$account" --at 2020-01-01T00:00:00Z --text "backfill" --allow-past
[[ $RC -eq 0 ]] || fail "--allow-past: $(cat "$ERR")"
[[ $(stack_psql -c "SELECT scheduled_at = '2020-01-01T00:00:00Z' FROM post_schedules WHERE id = '$(cat "$OUT")'") == t ]] ||
    fail "--allow-past did not store the time as given"

past=$STACK_DIR/past.jsonl
{
    printf '{"account_id":"%s","at":"2035-01-01T00:00:00Z","text":"future"}\n' "$account"
    printf '{"account_id":"%s","at":"2020-01-01T00:00:00Z","text":"six years late"}\n' "$account"
    printf '{"account_id":"%s","at":"now","text":"now"}\n' "$account"
    printf '{"account_id":"%s","at":"%s","text":"ten minutes late"}\n' "$account" "$(ago 600)"
} >"$past"
before=$(count_schedules)
expect_fail 1 "$past:2: at: 2020-01-01T00:00:00.*scheduler.max_past (5m)" import "$past"
grep -q "$past:4: at: .*in the past" "$ERR" || fail "import did not report line 4: $(cat "$ERR")"
grep -q '"at": "now"' "$ERR" || fail "the refusal does not mention \"now\": $(cat "$ERR")"
[[ $(grep -c "^$past:" "$ERR") -eq 2 ]] || fail "import reported other lines too: $(cat "$ERR")"
[[ $(count_schedules) -eq $before ]] || fail "an import with a refused time stored rows"
grep -v 2020-01-01 "$past" | grep -v "ten minutes" >"$STACK_DIR/now.jsonl"
run import "$STACK_DIR/now.jsonl"
[[ $RC -eq 0 ]] && grep -qx 'imported 2 schedules' "$OUT" || fail "import with \"now\": $(cat "$OUT" "$ERR")"
run import --allow-past "$past"
[[ $RC -eq 0 ]] && grep -qx 'imported 4 schedules' "$OUT" || fail "import --allow-past: $(cat "$OUT" "$ERR")"
[[ $(count_schedules) -eq $((before + 6)) ]] || fail "imports stored $(($(count_schedules) - before)) rows, expected 6"
[[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE scheduled_at = '2020-01-01T00:00:00Z'") -eq 2 ]] ||
    fail "import --allow-past did not store the old time as given"
# The key is read: with max_past 1h, ten minutes late passes; with 0, a minute does not.
for mp in 1h 0s; do
    { cat "$CONFIG"; printf 'scheduler:\n  max_past: %s\n' "$mp"; } >"$STACK_DIR/ctl-$mp.yaml"
done
"$AUTOPOST_BIN/autopostctl" --config "$STACK_DIR/ctl-1h.yaml" schedule --account "$account" \
    --at "$(ago 600)" --text "ten minutes late, max_past 1h" >/dev/null 2>"$ERR" ||
    fail "max_past 1h refused a time 10 min ago: $(cat "$ERR")"
if "$AUTOPOST_BIN/autopostctl" --config "$STACK_DIR/ctl-0s.yaml" schedule --account "$account" \
    --at "$(ago 60)" --text "a minute late, max_past 0" >/dev/null 2>"$ERR"; then
    fail "max_past 0s accepted a time a minute ago"
fi
grep -q 'scheduler.max_past (0ms)' "$ERR" || fail "max_past 0s: $(cat "$ERR")"
ok "times older than scheduler.max_past are refused unless \"now\" or --allow-past"

# ---- status -------------------------------------------------------------------------
run status --json
[[ $RC -eq 0 ]] || fail "status --json: $(cat "$ERR")"
js=$(cat "$OUT")
pending=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE status = 'pending'")
[[ $(jget '{platforms,facebook,pending}') == "$pending" ]] || fail "status: pending count: $js"
[[ $(jget '{platforms,facebook,cancelled}') == 1 ]] || fail "status: cancelled count: $js"
for s in pending queued retrying published failed unconfirmed cancelled; do
    [[ -n $(jget "{platforms,facebook,$s}") ]] || fail "status: platform key $s missing: $js"
    [[ -n $(jget "{total,$s}") ]] || fail "status: total key $s missing: $js"
done
[[ -n $(jget '{platforms,facebook,consumer,ack_pending}') ]] || fail "status: no consumer lag: $js"
[[ -n $(jget '{dispatcher,pending}') ]] || fail "status: no dispatcher lag: $js"
run status
grep -q '^facebook' "$OUT" && grep -q 'dispatcher' "$OUT" || fail "status: $(cat "$OUT")"

# The database part must still come when the bus is down, and quickly.
stack_nats_kill
t0=$(date +%s)
run status --json
(($(date +%s) - t0 <= 10)) || fail "status took too long with NATS down"
[[ $RC -eq 0 ]] || fail "status with NATS down: exit $RC: $(cat "$ERR")"
js=$(cat "$OUT")
[[ $(jget '{nats,reachable}') == false ]] || fail "status did not say NATS is unreachable: $js"
[[ $(jget '{platforms,facebook,pending}') == "$pending" ]] || fail "status without NATS lost the counts: $js"
run status
grep -q 'not reachable' "$OUT" || fail "status (text) with NATS down: $(cat "$OUT")"
# A queued schedule cannot be stopped without the bus: refused, unchanged.
run schedule --account "$account" --at now --text "queued while the bus is down"
down=$(cat "$OUT")
stack_psql -c "UPDATE post_schedules SET status = 'queued', queued_at = now() WHERE id = '$down'" >/dev/null
expect_fail 1 'cannot be written' cancel "$down"
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$down'") == queued ]] ||
    fail "a cancel with NATS down changed $down"
ok "status with NATS up and down"

printf 'PASS: autopostctl\n'
