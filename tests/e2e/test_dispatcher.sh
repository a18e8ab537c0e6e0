#!/usr/bin/env bash
# The dispatcher's fold rules against a real PostgreSQL, fed hand-encoded
# PublishResult messages (no publisher, no sandbox): forward-only updates,
# "published" wins even over a terminal state, late and stale results only add
# history, redeliveries add nothing, text survives byte for byte, garbage is
# terminated, results wait out a database outage, a MAX_DELIVERIES
# advisory fails its schedule and deletes the dead job, a deferral goes
# back to pending under the next generation without reopening a closed row,
# and one platform post is the outcome of one schedule only.
# autopost_dispatcher_terminal_total counts each terminal transition once, by
# status and cause: results, a reauth cascade, a MAX_DELIVERIES give-up.
source "$(dirname "$0")/lib.sh"

stack_trap
stack_start || fail "could not start nats-server and PostgreSQL"
SANDBOX_URL=http://127.0.0.1:9 svc_config # the dispatcher calls no platform
METRICS_PORT=$(stack_free_port) || fail "no free port"
printf 'service:\n  http_bind: 127.0.0.1\n  http_port: %s\n' "$METRICS_PORT" >>"$AUTOPOST_CONFIG"
svc_ctl migrate >/dev/null || fail "migrate failed"

# ---- protobuf by hand (pb_* in lib.sh; proto/autopost/v1/*.proto) ----------
outcome_num() {
    case $1 in
        published) echo 1 ;; retrying) echo 2 ;; failed) echo 3 ;;
        unconfirmed) echo 4 ;; cancelled) echo 5 ;; deferred) echo 6 ;;
    esac
}

# result SCHEDULE GENERATION OUTCOME ATTEMPT [EXTERNAL_ID] [ERROR_MESSAGE]
result() {
    local f=$STACK_DIR/result.bin
    {
        pb_str 1 "$1"
        pb_int 2 "$2"
        pb_int 3 "$(outcome_num "$3")"
        if [[ -n ${5:-} ]]; then pb_str 4 "$5"; fi
        if [[ -n ${6:-} ]]; then
            pb_int 6 1 # ERROR_CLASS_RETRY
            pb_str 7 "E42"
            pb_str 8 "$6"
        fi
        pb_int 9 "$4"
        pb_int 11 "$(($(date +%s) * 1000))"
        pb_str 12 "e2e-publisher"
        pb_str 13 facebook
        if [[ -n ${RESULT_ACCOUNT:-} ]]; then pb_str 16 "$RESULT_ACCOUNT"; fi
    } >"$f"
    nats_pub autopost.results.facebook "$f"
}

# ---- data --------------------------------------------------------------------
ACCOUNT=11111111-1111-4111-8111-111111111111
POST=22222222-2222-4222-8222-222222222222
sid() { printf 'aaaaaaaa-0000-4000-8000-%012d' "$1"; }
stack_psql <<SQL >/dev/null || fail "seed"
INSERT INTO social_accounts (id, platform, external_id, credentials)
    VALUES ('$ACCOUNT', 'facebook', 'page-1', '\x00');
INSERT INTO posts (id, text) VALUES ('$POST', 'hello');
INSERT INTO post_schedules (id, post_id, account_id, scheduled_at, status)
    SELECT ('aaaaaaaa-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '$POST', '$ACCOUNT',
           now(), 'queued'
    FROM generate_series(1, 9) i;
UPDATE post_schedules SET status = 'cancelled' WHERE id = '$(sid 3)';
UPDATE post_schedules SET generation = 2 WHERE id = '$(sid 4)';
SQL
row() { stack_psql -c "SELECT $2 FROM post_schedules WHERE id = '$1'"; }
row_is() { [[ $(row "$1" "$2") == "$3" ]]; }
# wait_row ID EXPRESSION EXPECTED
wait_row() {
    stack_wait_for row_is "$@" >/dev/null || fail "$1: expected $2 = '$3', found '$(row "$1" "$2")'"
}
history_count() {
    stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$1' ${2:-}"
}
history_is() { [[ $(history_count "$1" "${3:-}") == "$2" ]]; }
# jobs_state FIELD: messages, last_seq, ... of AUTOPOST_JOBS from /jsz.
jobs_state() {
    curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/jsz?streams=true" |
        jq -r --arg f "$1" '.account_details[]?.stream_detail[]? |
            select(.name == "AUTOPOST_JOBS") | .state[$f]'
}
jobs_stored_is() { [[ $(jobs_state messages) == "$1" ]]; }
logged() { grep -q "\"event\":\"$1\"" "$STACK_DIR/logs/dispatcher.log"; }

svc_start dispatcher
# Plain NATS publishes are only stored once the dispatcher made the streams.
stack_wait_for logged dispatcher_started >/dev/null || fail "dispatcher did not start"

# ---- forward-only, late results, exact text ---------------------------------
nasty='rate limited: "quoted" back\slash, comma {brace} NULL	tab; Tiếng Việt'
result "$(sid 1)" 1 retrying 1 "" "$nasty"
wait_row "$(sid 1)" "status || '|' || attempts" "retrying|1"
[[ $(row "$(sid 1)" error_message) == "$nasty" ]] || fail "error_message changed: $(row "$(sid 1)" error_message)"
result "$(sid 1)" 1 published 2 "fb_123"
wait_row "$(sid 1)" "status || '|' || attempts || '|' || external_post_id" "published|2|fb_123"
[[ $(row "$(sid 1)" "error_message IS NULL AND published_at IS NOT NULL") == t ]] ||
    fail "published row keeps an error or lacks published_at"
result "$(sid 1)" 1 retrying 3 "" "late"
result "$(sid 1)" 1 published 2 "fb_123" # a redelivery
stack_wait_for history_is "$(sid 1)" 3 >/dev/null ||
    fail "history of $(sid 1): want 3 lines, found $(history_count "$(sid 1)")"
sleep 0.5
[[ $(row "$(sid 1)" "status || '|' || attempts") == "published|2" ]] || fail "a late retrying moved a published row"
[[ $(history_count "$(sid 1)") == 3 ]] || fail "a redelivered result added history"

# Reality wins: published replaces failed and even cancelled; terminal never
# replaces terminal.
result "$(sid 2)" 1 failed 2 "" "permanent"
wait_row "$(sid 2)" status failed
result "$(sid 2)" 1 unconfirmed 3 "" "ambiguous"
result "$(sid 2)" 1 published 3 "fb_2"
wait_row "$(sid 2)" "status || '|' || external_post_id" "published|fb_2"
result "$(sid 3)" 1 failed 1 "" "too late, cancelled"
result "$(sid 3)" 1 published 1 "fb_3"
wait_row "$(sid 3)" status published

# A result of an older generation only adds history.
result "$(sid 4)" 1 published 1 "fb_old"
stack_wait_for history_is "$(sid 4)" 1 "AND generation = 1" >/dev/null ||
    fail "no history line for the old generation"
[[ $(row "$(sid 4)" status) == queued ]] || fail "a stale generation moved the row"

# Unknown schedule and garbage: reported, acked or terminated, service goes on.
result "bbbbbbbb-0000-4000-8000-000000000001" 1 published 1 "fb_x"
head -c 200 /dev/urandom >"$STACK_DIR/garbage.bin"
nats_pub autopost.results.facebook "$STACK_DIR/garbage.bin"
stack_wait_for logged result_unknown_schedule >/dev/null || fail "unknown schedule not reported"
stack_wait_for logged result_garbage >/dev/null || fail "garbage not reported"

# ---- one batch, several results per schedule ---------------------------------
svc_kill dispatcher TERM || fail "dispatcher did not exit 0 on SIGTERM"
result "$(sid 5)" 1 retrying 1 "" "e1"
result "$(sid 5)" 1 published 2 "fb_5"
result "$(sid 5)" 1 retrying 3 "" "e3"
result "$(sid 6)" 1 retrying 2 "" "e2"
result "$(sid 6)" 1 failed 3 "" "final"
result "$(sid 6)" 1 retrying 4 "" "e4"
svc_start dispatcher
wait_row "$(sid 5)" "status || '|' || attempts" "published|2"
wait_row "$(sid 6)" "status || '|' || attempts || '|' || error_message" "failed|3|final"
[[ $(history_count "$(sid 6)") == 3 ]] || fail "collapsed results must all be in the history"

# ---- PostgreSQL away: results wait, then apply --------------------------------
stack_pg_stop
result "$(sid 7)" 1 published 1 "fb_7"
sleep 5
stack_pg_start || fail "PostgreSQL did not come back"
wait_row "$(sid 7)" status published

# ---- MAX_DELIVERIES advisory --------------------------------------------------
{
    pb_str 1 "$(sid 8)"
    pb_int 2 1
    pb_str 4 "$ACCOUNT"
    pb_str 5 facebook
    pb_str 6 "a job no publisher survived"
} >"$STACK_DIR/job.bin"
nats_pub autopost.jobs.facebook "$STACK_DIR/job.bin"
stack_wait_for jobs_stored_is 1 >/dev/null || fail "job not stored"
seq=$(jobs_state last_seq)
printf '{"type":"io.nats.jetstream.advisory.v1.max_deliver","id":"e2e","timestamp":"2026-01-01T00:00:00Z","stream":"AUTOPOST_JOBS","consumer":"publisher-facebook","stream_seq":%s,"deliveries":7}' \
    "$seq" >"$STACK_DIR/adv.json"
# shellcheck disable=SC2016 # a literal subject, not an expansion
nats_pub '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.AUTOPOST_JOBS.publisher-facebook' "$STACK_DIR/adv.json"
wait_row "$(sid 8)" "status || '|' || error_code || '|' || attempts" "failed|max_deliveries|7"
[[ $(history_count "$(sid 8)" "AND event = 'gave_up'") == 1 ]] || fail "no gave_up history line"
stack_wait_for jobs_stored_is 0 >/dev/null || fail "the dead job was not deleted"

# ---- deferred: a limit is not a failure ------------------------------------------
# deferred SCHEDULE GENERATION ATTEMPT RETRY_AFTER_MS [PAUSE_SCOPE 1=account 2=app]
deferred() {
    local f=$STACK_DIR/deferred.bin
    {
        pb_str 1 "$1"
        pb_int 2 "$2"
        pb_int 3 6
        pb_int 6 2 # ERROR_CLASS_QUOTA
        pb_str 7 "9/2207042"
        pb_str 8 "publishing limit reached"
        pb_int 9 "$3"
        pb_int 11 "$(($(date +%s) * 1000))"
        pb_str 12 "e2e-publisher"
        pb_str 13 facebook
        pb_int 14 "$4"
        pb_str 16 "$ACCOUNT"
        if [[ -n ${5:-} ]]; then pb_int 19 "$5"; fi
    } >"$f"
    nats_pub autopost.results.facebook "$f"
}
stack_psql <<SQL >/dev/null || fail "seed deferral rows"
INSERT INTO post_schedules (id, post_id, account_id, scheduled_at, status, attempts)
    SELECT ('aaaaaaaa-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '$POST', '$ACCOUNT',
           now(), 'retrying', 1
    FROM generate_series(20, 22) i;
SQL
# Back to pending under the next generation, attempts kept, not_before about
# ten minutes out (the hint), the account paused as long; history says why.
deferred "$(sid 20)" 1 2 600000 1
wait_row "$(sid 20)" "status || '|' || generation || '|' || attempts" "pending|2|1"
[[ $(row "$(sid 20)" "not_before > now() + interval '5 minutes' AND error_code = '9/2207042'") == t ]] ||
    fail "deferred row: not_before $(row "$(sid 20)" not_before)"
[[ $(history_count "$(sid 20)" "AND event = 'deferred' AND generation = 1") == 1 ]] ||
    fail "no deferred history line"
[[ $(stack_psql -c "SELECT paused_until > now() + interval '5 minutes' FROM social_accounts
                    WHERE id = '$ACCOUNT'") == t ]] || fail "the account was not paused"
# The same result again (a redelivery) and a late one of the old generation:
# the row is at generation 2 now, nothing moves.
deferred "$(sid 20)" 1 2 600000 1
result "$(sid 20)" 1 failed 3 "" "late failure of the old generation"
stack_wait_for history_is "$(sid 20)" 2 >/dev/null || fail "late result not in the history"
sleep 0.5
[[ $(row "$(sid 20)" "status || '|' || generation") == "pending|2" ]] ||
    fail "a repeated deferral or stale result moved the row: $(row "$(sid 20)" "status || '|' || generation")"
# Only forward: a deferral never reopens a published or failed row.
result "$(sid 21)" 1 published 1 "fb_21"
wait_row "$(sid 21)" status published
deferred "$(sid 21)" 1 2 1000
result "$(sid 22)" 1 failed 2 "" "permanent"
wait_row "$(sid 22)" status failed
deferred "$(sid 22)" 1 3 1000
stack_wait_for history_is "$(sid 22)" 2 >/dev/null || fail "deferral of a failed row not in the history"
stack_wait_for history_is "$(sid 21)" 2 >/dev/null || fail "deferral of a published row not in the history"
sleep 0.5
[[ $(row "$(sid 21)" "status || '|' || generation") == "published|1" ]] || fail "a deferral reopened a published row"
[[ $(row "$(sid 22)" "status || '|' || generation") == "failed|1" ]] || fail "a deferral reopened a failed row"

# ---- terminal transitions, counted by status and cause ----------------------------
# A REAUTH result fails its own row (cause result) and, through the account
# mark, every other open row of the account without a result (cause
# reauth_cascade): four here, one of them not due until tomorrow.
REAUTH_ACCOUNT=33333333-3333-4333-8333-333333333333
stack_psql <<SQL >/dev/null || fail "seed reauth rows"
INSERT INTO social_accounts (id, platform, external_id, credentials)
    VALUES ('$REAUTH_ACCOUNT', 'facebook', 'page-2', '\x00');
INSERT INTO post_schedules (id, post_id, account_id, scheduled_at, status)
    SELECT ('aaaaaaaa-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '$POST',
           '$REAUTH_ACCOUNT', now(), 'queued'
    FROM generate_series(30, 33) i;
INSERT INTO post_schedules (id, post_id, account_id, scheduled_at)
    VALUES ('$(sid 34)', '$POST', '$REAUTH_ACCOUNT', now() + interval '1 day');
SQL
# reauth_result SCHEDULE: a FAILED REAUTH result of REAUTH_ACCOUNT.
reauth_result() {
    local f=$STACK_DIR/reauth.bin
    {
        pb_str 1 "$1"
        pb_int 2 1
        pb_int 3 3
        pb_int 6 3 # ERROR_CLASS_REAUTH
        pb_str 7 "190/463"
        pb_str 8 "Error validating access token: Session has expired"
        pb_int 9 1
        pb_int 11 "$(($(date +%s) * 1000))"
        pb_str 12 "e2e-publisher"
        pb_str 13 facebook
        pb_str 16 "$REAUTH_ACCOUNT"
    } >"$f"
    nats_pub autopost.results.facebook "$f"
}
reauth_result "$(sid 30)"
open_rows() { stack_psql -c "SELECT count(*) FROM post_schedules WHERE account_id = '$REAUTH_ACCOUNT' AND status <> 'failed'"; }
open_rows_is() { [[ $(open_rows) == "$1" ]]; }
stack_wait_for open_rows_is 0 >/dev/null || fail "the reauth cascade left $(open_rows) rows open"
# What the publishers send next (the other jobs, failed from the mark), a
# redelivery, and the same advisory again (its job is gone): none of them
# moves a row, so none may be counted.
reauth_result "$(sid 31)"
reauth_result "$(sid 30)"
nats_pub '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.AUTOPOST_JOBS.publisher-facebook' "$STACK_DIR/adv.json"
stack_wait_for history_is "$(sid 31)" 2 >/dev/null || fail "the late REAUTH result is not in the history"
stack_wait_for logged advisory_job_gone >/dev/null || fail "the repeated advisory was not handled"

scrape() { curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics"; }
terminal() {
    scrape | awk -v s="autopost_dispatcher_terminal_total{status=\"$1\",cause=\"$2\"}" \
        '$1 == s { print $2; found = 1 } END { exit !found }'
}
# Since the restart above: published sid 5, 7, 21; failed by a result sid 6,
# 22, 30; given up sid 8; failed by the cascade sid 31..34.
want=("published result 3" "failed result 3" "failed reauth_cascade 4" "failed max_deliveries 1"
      "unconfirmed result 0" "cancelled result 0" "expired result 0")
for w in "${want[@]}"; do
    read -r st cause n <<<"$w"
    got=$(terminal "$st" "$cause") || fail "no series for status=$st cause=$cause"
    [[ $got == "$n" ]] || fail "terminal transitions status=$st cause=$cause: $got, expected $n"
done
series=$(scrape | grep -c '^autopost_dispatcher_terminal_total{') || true
[[ $series == "${#want[@]}" ]] || fail "$series terminal series, expected ${#want[@]}"
pass "terminal transitions counted once each, by status and cause"

# ---- one post, one schedule ------------------------------------------------------
# Two schedules of one account claiming one post (the same text twice: the
# second one's duplicate refusal read back finds the first one's post): the
# later claim fails as a duplicate naming the holder, in another batch (the
# SQL looks the post up) or in the same one (the fold finds it in C).
stack_psql <<SQL >/dev/null || fail "seed one-post rows"
INSERT INTO post_schedules (id, post_id, account_id, scheduled_at, status)
    SELECT ('aaaaaaaa-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '$POST', '$ACCOUNT',
           now(), 'queued'
    FROM generate_series(40, 43) i;
SQL
result "$(sid 40)" 1 published 1 "fb_same"
wait_row "$(sid 40)" status published
result "$(sid 41)" 1 published 1 "fb_same"
wait_row "$(sid 41)" "status || '|' || error_class || '|' || error_code" "failed|duplicate|post_held"
[[ $(row "$(sid 41)" error_message) == *"fb_same"*"$(sid 40)"* ]] ||
    fail "the held row does not name the post and its holder: $(row "$(sid 41)" error_message)"
[[ $(row "$(sid 41)" "external_post_id IS NULL") == t ]] || fail "the held row claims the post"
[[ $(history_count "$(sid 41)" "AND event = 'failed' AND actor = 'dispatcher' AND error_code = 'post_held'") == 1 ]] ||
    fail "no dispatcher history line for the held post"
result "$(sid 40)" 1 published 1 "fb_same" # a redelivery holds its own post
stack_wait_for history_is "$(sid 40)" 1 >/dev/null || fail "history of the holder"
sleep 0.5
[[ $(row "$(sid 40)" status) == published ]] || fail "a redelivery failed the holder of its own post"
svc_kill dispatcher TERM || fail "dispatcher did not exit 0 on SIGTERM"
RESULT_ACCOUNT=$ACCOUNT result "$(sid 43)" 1 published 1 "fb_twin"
RESULT_ACCOUNT=$ACCOUNT result "$(sid 42)" 1 published 1 "fb_twin"
svc_start dispatcher
wait_row "$(sid 42)" status published # the lower id holds it within a batch
wait_row "$(sid 43)" "status || '|' || error_code" "failed|post_held"
[[ $(row "$(sid 43)" error_message) == *"$(sid 42)"* ]] || fail "in-batch: the held row does not name its holder"
[[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE external_post_id IN ('fb_same', 'fb_twin')
                     AND status = 'published'") == 2 ]] || fail "one post is published by two schedules"

kill -0 "${SVC_PIDS[dispatcher]}" 2>/dev/null || fail "dispatcher died"
e2e_finish
pass "dispatcher: fold rules, batches, outage and advisories"
