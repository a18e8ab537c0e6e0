#!/usr/bin/env bash
# The operator's view after a real run (some accounts' tokens are refused by
# the sandbox, so their posts fail): `status` with its new figures, --json and
# --watch; `failed` grouped by reason; `retry` by filter (dry run, nothing
# matched, a batch, the unconfirmed opt-in) recorded in each row's history.
source "$(dirname "$0")/lib.sh"

e2e_begin
printf '{"platform":"facebook","external_id":"3001","token":"good-token","name":"Good"}\n' \
    >"$STACK_DIR/accounts.jsonl"
printf '{"platform":"facebook","external_id":"3002","token":"invalid-token","name":"Broken"}\n' \
    >>"$STACK_DIR/accounts.jsonl"
mapfile -t accounts < <(svc_ctl accounts import "$STACK_DIR/accounts.jsonl")
at=$(rfc3339_in 0)
for a in "${accounts[@]}"; do
    for n in 1 2 3 4 5 6; do
        printf '{"account_id":"%s","at":"%s","text":"ops post %d of %s"}\n' "$a" "$at" "$n" "$a"
    done
done >"$STACK_DIR/schedules.jsonl"
svc_ctl import "$STACK_DIR/schedules.jsonl" >/dev/null || fail "import"
svc_start dispatcher
svc_start publisher-facebook
svc_start scheduler
SVC_QUIET=1 svc_wait_terminal 12 120 || fail "the run did not finish"
[[ $(svc_count_status published) -eq 6 && $(svc_count_status failed) -eq 6 ]] ||
    fail "run: $(stack_psql -c "SELECT status, count(*) FROM post_schedules GROUP BY 1")"
OUT=$STACK_DIR/out
ERR=$STACK_DIR/err

# ---- status ------------------------------------------------------------------------
# The dispatcher acks a result after COMMIT: wait for the lag to drain.
stack_wait_for bash -c "'$AUTOPOST_BIN/autopostctl' --config '$AUTOPOST_CONFIG' status --json |
    jq -e '.platforms.facebook.lag == 0 and .dispatcher.pending == 0 and .dispatcher.ack_pending == 0'" \
    >/dev/null || fail "lag did not drain: $(svc_ctl status --json)"
svc_ctl status --json >"$OUT" || fail "status --json"
j() { jq -r "$1" "$OUT"; }
[[ $(j .platforms.facebook.published) == 6 ]] || fail "status published: $(cat "$OUT")"
[[ $(j .platforms.facebook.failed) == 6 ]] || fail "status failed"
[[ $(j .platforms.facebook.due_now) == 0 ]] || fail "status due_now"
[[ $(j .platforms.facebook.in_flight) == 0 ]] || fail "status in_flight"
[[ $(j .platforms.facebook.oldest_waiting) == null ]] || fail "status oldest_waiting"
[[ $(j .platforms.facebook.rate_1m.published) == 6 ]] || fail "status rate published"
[[ $(j .platforms.facebook.rate_1m.failed) == 6 ]] || fail "status rate failed"
[[ $(j .total.due_now) == 0 && $(j .total.rate_1m.published) == 6 ]] || fail "status total"
# The broken account's posts fail with the platform's 190 while their calls are
# already under way, the rest with account_reauth_required once the account is
# marked: how many of each depends on timing, the total does not.
[[ $(j '[.top_reasons[] | select(.error_class == "reauth") | .count] | add') == 6 &&
    $(j '.top_reasons[0].error_class') == reauth ]] ||
    fail "status top reasons: $(j .top_reasons)"
[[ $(j .platforms.facebook.consumer.pending) == 0 ]] || fail "status consumer (old field)"
svc_ctl status >"$OUT" || fail "status"
grep -q '^facebook' "$OUT" && grep -q 'top error reasons' "$OUT" && grep -q '\[reauth\] 190' "$OUT" ||
    fail "status text: $(cat "$OUT")"
svc_ctl status --watch 1 --count 2 >"$OUT" || fail "status --watch"
[[ $(grep -c '^autopost status at' "$OUT") == 2 ]] || fail "watch did not print two reports: $(cat "$OUT")"
! grep -q $'\033' "$OUT" || fail "watch wrote ANSI codes into a file"
svc_ctl status --watch=1 --count 2 --json >"$OUT" || fail "status --watch --json"
[[ $(jq -s length "$OUT") == 2 ]] || fail "watch --json: $(cat "$OUT")"
rc=0
svc_ctl status --count 2 >"$OUT" 2>"$ERR" || rc=$?
[[ $rc == 2 ]] || fail "--count without --watch: exit $rc"
# A schedule due now but not claimed (the scheduler is stopped) is due and waiting.
svc_kill scheduler TERM || fail "scheduler did not drain"
svc_ctl schedule --account "${accounts[0]}" --at "$(rfc3339_in -5)" --text "late one" >/dev/null ||
    fail "schedule"
svc_ctl status --json >"$OUT"
[[ $(j .platforms.facebook.due_now) == 1 ]] || fail "due_now after scheduling: $(cat "$OUT")"
[[ $(j .platforms.facebook.oldest_waiting.age_ms) -ge 4000 ]] || fail "oldest waiting: $(cat "$OUT")"
stack_psql -c "DELETE FROM post_schedules WHERE status = 'pending'" >/dev/null
pass "status: due, in flight, lag, oldest waiting, rates, reasons, --watch"

# ---- failed --------------------------------------------------------------------------
svc_ctl failed --json >"$OUT" || fail "failed --json"
# One group per reason: the platform's 190 and (timing) account_reauth_required.
[[ $(j '[.[].count] | add') == 6 && $(j '[.[].platform] | unique | join(",")') == facebook ]] ||
    fail "failed --json: $(cat "$OUT")"
[[ $(j '[.[] | (.example_ids | length) == ([.count, 3] | min)] | all') == true ]] ||
    fail "failed examples: $(cat "$OUT")"
ex=$(j '.[0].example_ids[0]')
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$ex'") == failed ]] ||
    fail "example id $ex is not failed"
svc_ctl failed >"$OUT" || fail "failed"
grep -q 'Invalid OAuth' "$OUT" && grep -q 'e.g.' "$OUT" || fail "failed text: $(cat "$OUT")"
pass "failed: grouped by reason with examples"

# ---- retry by filter ----------------------------------------------------------------------
rc=0
svc_ctl retry >"$OUT" 2>"$ERR" || rc=$?
[[ $rc == 2 ]] || fail "retry without id or filter: exit $rc"
rc=0
svc_ctl retry "$ex" --platform facebook >"$OUT" 2>"$ERR" || rc=$?
[[ $rc == 2 ]] || fail "retry with id and filter: exit $rc"
# One failed row becomes unconfirmed: a default filter must not touch it.
unconf=$(stack_psql -c "UPDATE post_schedules SET status = 'unconfirmed'
                         WHERE id = (SELECT id FROM post_schedules WHERE status = 'failed'
                                     ORDER BY id LIMIT 1) RETURNING id")
svc_ctl retry --platform facebook --reason 'invalid oauth' --dry-run >"$OUT" || fail "dry run"
grep -qx 'would retry 5 schedule(s)' "$OUT" || fail "dry run: $(cat "$OUT")"
[[ $(svc_count_status pending) == 0 ]] || fail "dry run changed rows"
svc_ctl retry --reason 'no such reason anywhere' >"$OUT" || fail "retry no match"
grep -qx 're-queued 0 schedule(s)' "$OUT" || fail "no match: $(cat "$OUT")"
svc_ctl retry --error-class reauth --until 2000-01-01T00:00:00Z >"$OUT" || fail "retry until"
grep -qx 're-queued 0 schedule(s)' "$OUT" || fail "--until in the past: $(cat "$OUT")"
svc_ctl retry --platform facebook --error-class reauth --since 1h >"$OUT" || fail "retry batch"
grep -qx 're-queued 5 schedule(s)' "$OUT" || fail "batch: $(cat "$OUT")"
[[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE status = 'pending' AND generation = 2
                     AND attempts = 0 AND error_message IS NULL") == 5 ]] || fail "batch rows"
[[ $(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE event = 'retry_requested'
                     AND actor = 'autopostctl' AND generation = 2") == 5 ]] || fail "batch history"
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$unconf'") == unconfirmed ]] ||
    fail "the default filter retried an unconfirmed schedule"
svc_ctl retry --status unconfirmed --error-class reauth >"$OUT" 2>"$ERR" || fail "retry unconfirmed"
grep -qx 're-queued 1 schedule(s)' "$OUT" || fail "unconfirmed: $(cat "$OUT")"
grep -q 'posted a second time' "$ERR" || fail "no warning for unconfirmed: $(cat "$ERR")"
# The retried rows go through the pipeline again and fail again (same token).
svc_start scheduler
SVC_QUIET=1 svc_wait_terminal 12 120 || fail "the retried run did not finish"
[[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE status = 'failed' AND generation = 2") == 6 ]] ||
    fail "retried rows: $(stack_psql -c "SELECT status, generation, count(*) FROM post_schedules GROUP BY 1, 2")"
pass "retry by filter: dry run, no match, batch, unconfirmed opt-in, history"

e2e_finish
pass "ctl ops"
