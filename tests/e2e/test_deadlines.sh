#!/usr/bin/env bash
# Deadlines (issue 19, README "Deadlines"), through autopost-api over HTTP and
# the real scheduler, publisher, dispatcher and sandbox:
#   1. the API: "deadline" stored and shown (POST, GET /v1/posts/{id},
#      GET /v1/schedules), 422 naming the field when it is earlier than "at",
#      and a PATCH of "at" past it refused;
#      `autopostctl schedule --deadline` and `import` store it too;
#   2. a backlog: one publisher call at a time, each taking the sandbox 1.5 s,
#      with six posts (9 s of work) ahead of three whose deadline is 5 s away. The three are
#      queued in time (the scheduler sends them), reach a publisher only after
#      their deadline, and end expired there (OUTCOME_EXPIRED): no request of
#      theirs reaches the sandbox, and each gets a schedule.expired event;
#   3. a paused account: its post is never admitted, and the scheduler's
#      expiry pass ends it expired at its deadline;
#   4. platforms.facebook.max_lateness after an outage: with the scheduler
#      down, rows pass their time by more than max_lateness; when it comes
#      back, those stale rows expire and fresh ones publish;
#   5. exactly once before the deadline: a publish left unanswered (its
#      record says started) whose redelivery comes after the deadline reads
#      back and ends published, once, not expired.
source "$(dirname "$0")/lib.sh"
source "$AUTOPOST_SRC/tests/fixtures/api_test.sh"

SVC_CONCURRENCY=1 SVC_MAX_ACK_PENDING=2
e2e_begin --latency-ms 1500
api_test_config

post() { # post ACCOUNT TEXT AT [DEADLINE]: the JSON body
    if [[ -n ${4:-} ]]; then
        printf '{"account_ids": ["%s"], "text": "%s", "at": "%s", "deadline": "%s"}' "$1" "$2" "$3" "$4"
    else
        printf '{"account_ids": ["%s"], "text": "%s", "at": "%s"}' "$1" "$2" "$3"
    fi
}
q() { stack_psql -c "$1"; }
# on_sandbox TEXT_PREFIX: how many posts with that text the sandbox accepted.
on_sandbox() { sandbox_get /_sandbox/posts.tsv | cut -f2 | grep -c "^$1" || true; }
wait_until() { # wait_until SECONDS COMMAND...: until COMMAND succeeds
    local end=$(($(date +%s) + $1))
    shift
    until "$@"; do
        (($(date +%s) <= end)) || return 1
        sleep 0.3
    done
}

api_test_tenant acme
FA=$(svc_ctl accounts add --platform facebook --external-id 5001 --token fb-good-token)
FB=$(svc_ctl accounts add --platform facebook --external-id 5002 --token fb-good-token)
q "UPDATE social_accounts SET tenant_id = '$TENANT'" >/dev/null

# The API as deployed (tests/fixtures/api_test.sh).
api_test_start

# ---- 1. the field -------------------------------------------------------------
AT=$(rfc3339_in 3600)
DL=$(rfc3339_in 5400)
expect 201 POST /v1/posts "$(post "$FA" "later" "$AT" "$DL")"
LATER=$(j .id)
[[ $(j '.schedules[0].deadline') == "${DL%Z}.000Z" ]] || fail "201 shows deadline $(j '.schedules[0].deadline'), sent $DL"
expect 200 GET "/v1/posts/$LATER"
[[ $(j .deadline) == "${DL%Z}.000Z" && $(j '.schedules[0].deadline') == "${DL%Z}.000Z" ]] ||
    fail "GET /v1/posts/{id}: $(cat "$OUT")"
expect 200 GET "/v1/schedules?limit=200"
[[ $(j "[.data[] | select(.deadline == \"${DL%Z}.000Z\")] | length") == 1 &&
    $(j '[.data[] | select(.deadline == null)] | length') == 0 ]] || fail "GET /v1/schedules: $(cat "$OUT")"
before=$(q "SELECT count(*) FROM post_schedules")
expect 422 POST /v1/posts "$(post "$FA" "bad" "$AT" "$(rfc3339_in 3500)")"
[[ $(j '.error.details[0].field') == deadline ]] || fail "422 names $(j '.error.details[0].field'): $(cat "$OUT")"
expect 422 POST /v1/posts "$(printf '{"account_ids": ["%s"], "text": "x", "deadline": "%s"}' "$FA" "$(rfc3339_in -60)")"
[[ $(j '.error.details[0].field') == deadline ]] || fail "422 (at now) names $(j '.error.details[0].field')"
[[ $(q "SELECT count(*) FROM post_schedules") == "$before" ]] || fail "a refused post was stored"
expect 200 GET "/v1/posts/$LATER"
SID=$(j '.schedules[0].id')
expect 422 PATCH "/v1/schedules/$SID" "{\"at\": \"$(rfc3339_in 5500)\"}"
[[ $(j '.error.details[0].field') == at ]] || fail "PATCH past the deadline names $(j '.error.details[0].field')"
expect 200 PATCH "/v1/schedules/$SID" "{\"at\": \"$(rfc3339_in 5000)\"}"
expect 200 POST "/v1/posts/$LATER/cancel"
# The CLI: the same rule and the same column.
! svc_ctl schedule --account "$FA" --at "$AT" --deadline "$(rfc3339_in 60)" --text cli 2>"$STACK_DIR/ctl.err" ||
    fail "schedule took a deadline before --at"
grep -q 'deadline: .* is earlier than at' "$STACK_DIR/ctl.err" || fail "schedule's reason: $(cat "$STACK_DIR/ctl.err")"
CS=$(svc_ctl schedule --account "$FA" --at "$AT" --deadline "$DL" --text cli) || fail "schedule --deadline"
printf '{"account_id": "%s", "at": "%s", "deadline": "%s", "text": "imported"}\n' "$FA" "$AT" "$DL" >"$STACK_DIR/in.jsonl"
IS=$(svc_ctl import --ids "$STACK_DIR/in.jsonl") || fail "import with a deadline"
[[ $(q "SELECT count(*) FROM post_schedules WHERE id IN ('$CS', '$IS') AND deadline = '$DL'") == 2 ]] ||
    fail "schedule/import stored: $(q "SELECT id, deadline FROM post_schedules WHERE id IN ('$CS', '$IS')")"
svc_ctl cancel "$CS" >/dev/null && svc_ctl cancel "$IS" >/dev/null || fail "cancel"
pass "deadline stored and shown by POST, GET /v1/posts/{id}, GET /v1/schedules, schedule, import; 422 on the field"

# ---- 2. behind a backlog: the publisher expires them --------------------------
svc_start scheduler
svc_start publisher-facebook
svc_start dispatcher
# One account, so the claim keeps their order (oldest first): the fillers
# are due now, the deadline posts a second later.
NOW=$(rfc3339_in 0)
for i in 1 2 3 4 5 6; do expect 201 POST /v1/posts "$(post "$FA" "filler $i" "$NOW")"; done
AT=$(rfc3339_in 1)
DL=$(rfc3339_in 5)
LATE=()
for i in 1 2 3; do
    expect 201 POST /v1/posts "$(post "$FA" "late $i" "$AT" "$DL")"
    LATE+=("$(j '.schedules[0].id')")
done
late_list=$(printf "'%s'," "${LATE[@]}")
late_list=${late_list%,}
expired_late() { [[ $(q "SELECT count(*) FROM post_schedules WHERE id IN ($late_list) AND status = 'expired'") == 3 ]]; }
wait_until 60 expired_late ||
    fail "behind the backlog: $(q "SELECT status, error_code, error_message FROM post_schedules WHERE id IN ($late_list)")"
fillers_done() { [[ $(svc_count_status published) -ge 6 ]]; }
wait_until 60 fillers_done || fail "the fillers: $(q "SELECT status, count(*) FROM post_schedules GROUP BY 1")"
# They were queued in time: the publisher, not the scheduler, expired them.
[[ $(q "SELECT count(*) FROM schedule_attempts WHERE schedule_id IN ($late_list) AND event = 'queued'") == 3 ]] ||
    fail "the late posts were not queued before their deadline"
[[ $(q "SELECT count(*) FROM schedule_attempts WHERE schedule_id IN ($late_list) AND event = 'expired'
                                                  AND error_code = 'deadline_passed' AND actor LIKE 'publisher%'") == 3 ]] ||
    fail "history: $(q "SELECT event, actor, error_code FROM schedule_attempts WHERE schedule_id IN ($late_list)")"
[[ $(q "SELECT count(*) FROM post_schedules WHERE id IN ($late_list) AND error_code = 'deadline_passed'
                                               AND error_message LIKE 'deadline % passed % before the publisher could start%'") == 3 ]] ||
    fail "reason: $(q "SELECT error_message FROM post_schedules WHERE id IN ($late_list)")"
[[ $(q "SELECT count(*) FROM events WHERE schedule_id IN ($late_list) AND type = 'schedule.expired'") == 3 ]] ||
    fail "schedule.expired events: $(q "SELECT type FROM events WHERE schedule_id IN ($late_list)")"
sleep 2 # a stray request would have landed by now
[[ $(on_sandbox late) == 0 ]] || fail "the sandbox received an expired post"
[[ $(on_sandbox filler) == 6 ]] || fail "the sandbox has $(on_sandbox filler) fillers, expected 6"
# Every request the sandbox received was a filler's publish.
[[ $(sandbox_stat requests) == 6 ]] || fail "the sandbox received $(sandbox_stat requests) requests, expected 6"
expect 200 GET "/v1/schedules?status=expired&limit=200"
[[ $(j '[.data[] | select(.error.code == "deadline_passed" and .deadline != null)] | length') == 3 ]] ||
    fail "GET /v1/schedules?status=expired: $(head -c 600 "$OUT")"
grep -q '"job_expired"' "$STACK_DIR/logs/publisher-facebook.log" || fail "the publisher logged no job_expired"
pass "backlog: 3 deadline posts queued in time, expired by the publisher (no request, reason, history, events), 6 fillers published"

# ---- 3. a paused account: the scheduler's pass expires it ----------------------
q "UPDATE social_accounts SET paused_until = now() + interval '1 hour' WHERE id = '$FB'" >/dev/null
expect 201 POST /v1/posts "$(post "$FB" "paused" "$(rfc3339_in 0)" "$(rfc3339_in 3)")"
PAUSED=$(j '.schedules[0].id')
expired_paused() { [[ $(q "SELECT status FROM post_schedules WHERE id = '$PAUSED'") == expired ]]; }
wait_until 20 expired_paused || fail "paused: $(q "SELECT status, error_message FROM post_schedules WHERE id = '$PAUSED'")"
[[ $(q "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$PAUSED' AND event = 'expired' AND actor = 'scheduler'") == 1 &&
    $(q "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$PAUSED' AND event = 'queued'") == 0 ]] ||
    fail "paused history: $(q "SELECT event, actor FROM schedule_attempts WHERE schedule_id = '$PAUSED'")"
[[ $(q "SELECT count(*) FROM events WHERE schedule_id = '$PAUSED' AND type = 'schedule.expired'") == 1 ]] ||
    fail "no schedule.expired for the paused post"
q "UPDATE social_accounts SET paused_until = NULL WHERE id = '$FB'" >/dev/null
pass "paused account: never queued, expired by the scheduler at its deadline, with its event"

# ---- 4. max_lateness after an outage -------------------------------------------
sandbox_post /_sandbox/config '{"latency_ms": 0}' >/dev/null || fail "sandbox config"
svc_kill scheduler TERM || fail "the scheduler did not stop cleanly"
# Due in a second, while no scheduler runs; then 12 s pass: more than
# max_lateness (8 s, set below) late.
AT=$(rfc3339_in 1)
for i in 1 2 3 4; do expect 201 POST /v1/posts "$(post "$FA" "stale $i" "$AT")"; done
sleep 13
for i in 1 2; do expect 201 POST /v1/posts "$(post "$FB" "fresh $i" "$(rfc3339_in 0)")"; done
sed -i 's/^    backoff_max: \(.*\)$/&\n    max_lateness: 8s/' "$AUTOPOST_CONFIG"
grep -q 'max_lateness: 8s' "$AUTOPOST_CONFIG" || fail "could not set max_lateness"
svc_start scheduler@2
outage_done() {
    [[ $(q "SELECT count(*) FROM post_schedules s JOIN posts p ON p.id = s.post_id
             WHERE (p.text LIKE 'stale %' AND s.status = 'expired')
                OR (p.text LIKE 'fresh %' AND s.status = 'published')") == 6 ]]
}
wait_until 30 outage_done ||
    fail "after the outage: $(q "SELECT p.text, s.status, s.error_message FROM post_schedules s JOIN posts p ON p.id = s.post_id WHERE p.text ~ '^(stale|fresh)'")"
[[ $(q "SELECT count(*) FROM post_schedules s JOIN posts p ON p.id = s.post_id
         WHERE p.text LIKE 'stale %' AND s.error_code = 'deadline_passed'
           AND s.error_message LIKE '%before the scheduler could start%'") == 4 ]] ||
    fail "stale reasons: $(q "SELECT s.error_message FROM post_schedules s JOIN posts p ON p.id = s.post_id WHERE p.text LIKE 'stale %'")"
[[ $(q "SELECT count(*) FROM events e JOIN posts p ON p.id = e.post_id WHERE p.text LIKE 'stale %' AND e.type = 'schedule.expired'") == 4 ]] ||
    fail "stale rows' events"
sleep 1
[[ $(on_sandbox stale) == 0 && $(on_sandbox fresh) == 2 ]] ||
    fail "sandbox after the outage: stale $(on_sandbox stale), fresh $(on_sandbox fresh)"
grep -q 'expired=4' "$STACK_DIR/logs/scheduler@2.log" || fail "the scheduler's tick did not report expired=4"
pass "outage: 4 rows more than max_lateness late expired by the scheduler (reason, events, not sent); 2 fresh published"

# ---- 5. exactly once wins: a call that may have started is never expired -----
# The publish is accepted but never answered (the sandbox holds it): the
# attempt ends ambiguous after platforms.facebook.timeout (5 s), its record
# says started, and the redelivery comes after the 2 s deadline. It must
# read the page back and find the post, not expire a post that is live.
sandbox_post /_sandbox/config '{"hang_rate": 1}' >/dev/null || fail "sandbox config"
expect 201 POST /v1/posts "$(post "$FB" "hung" "$(rfc3339_in 0)" "$(rfc3339_in 2)")"
HUNG=$(j '.schedules[0].id')
hung_sent() { [[ $(on_sandbox hung) -ge 1 ]]; }
wait_until 20 hung_sent || fail "the hung post never reached the sandbox"
sandbox_post /_sandbox/config '{"hang_rate": 0}' >/dev/null || fail "sandbox config"
hung_done() { [[ $(q "SELECT status FROM post_schedules WHERE id = '$HUNG'") =~ ^(published|failed|unconfirmed|expired)$ ]]; }
wait_until 60 hung_done || fail "the hung post: $(q "SELECT status FROM post_schedules WHERE id = '$HUNG'")"
[[ $(q "SELECT status FROM post_schedules WHERE id = '$HUNG'") == published ]] ||
    fail "a live post past its deadline ended $(q "SELECT status, error_message FROM post_schedules WHERE id = '$HUNG'")"
[[ $(q "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$HUNG' AND event = 'expired'") == 0 &&
    $(q "SELECT count(*) FROM events WHERE schedule_id = '$HUNG' AND type = 'schedule.expired'") == 0 ]] ||
    fail "the live post has an expired line or event"
[[ $(on_sandbox hung) == 1 ]] || fail "the sandbox has $(on_sandbox hung) copies of the hung post"
grep -q "\"verify_found\".*" "$STACK_DIR/logs/publisher-facebook.log" || fail "no read-back found the post"
pass "a started record past the deadline: read back, published once, not expired"

e2e_finish
