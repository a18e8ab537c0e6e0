#!/usr/bin/env bash
# A revoked token: the first call for the account fails as REAUTH, the
# account becomes reauth_required with the platform's message, its other open
# schedules fail with that reason (history line 'account_reauth'), and the
# sandbox sees exactly one failed call for it: jobs of that account already in
# the stream are failed by the publisher from the shared reauth mark
# (KV autopost_accounts) without calling the platform. Then an operator
# reconnects the account with `accounts set-credential` and its new posts
# publish.
#
# One publisher with concurrency 1, so the jobs of the account are handled
# one after the other: a second call could only come from a missing mark,
# never from two calls racing in flight.
source "$(dirname "$0")/lib.sh"

SVC_CONCURRENCY=1 e2e_begin
revoked=$(svc_ctl accounts add --platform facebook --external-id 2001 --token revoked-by-user)
other=$(svc_ctl accounts add --platform facebook --external-id 2002 --token good-token)

# insert_schedule ACCOUNT TEXT DELAY -> schedule id
insert_schedule() {
    stack_psql -v account="$1" -v text="$2" -v delay="$3" <<'SQL'
WITH p AS (INSERT INTO posts (text) VALUES (:'text') RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT p.id, (:'account')::uuid, now() + (:'delay')::interval FROM p RETURNING id;
SQL
}
for i in 1 2 3 4 5; do insert_schedule "$revoked" "due now $i" '0 s' >/dev/null; done
for i in 1 2 3; do insert_schedule "$revoked" "tomorrow $i" '1 day' >/dev/null; done
for i in 1 2; do insert_schedule "$other" "other account $i" '0 s' >/dev/null; done

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook
svc_wait_terminal 10 90 || fail "the schedules did not all end"

row=$(stack_psql -F '|' -c "SELECT status, coalesce(status_reason, '') FROM social_accounts WHERE id = '$revoked'")
[[ ${row%%|*} == reauth_required ]] || fail "account status: $row"
[[ ${row#*|} == *"session has been invalidated"* ]] || fail "status_reason lacks the platform's message: $row"
echo "ok: account is reauth_required: ${row#*|}"

n=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE account_id = '$revoked' AND status = 'failed' AND error_class = 'reauth'")
[[ $n == 8 ]] || fail "$n of 8 schedules of the account failed as reauth"
n=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE account_id = '$revoked' AND error_message LIKE '%session has been invalidated%'")
[[ $n == 8 ]] || fail "only $n of 8 schedules carry the platform's reason"
n=$(stack_psql -c "SELECT count(*) FROM post_schedules s WHERE account_id = '$revoked' AND scheduled_at > now() + interval '1 hour' AND error_code = 'account_reauth_required' AND EXISTS (SELECT 1 FROM schedule_attempts a WHERE a.schedule_id = s.id AND a.event = 'account_reauth')")
[[ $n == 3 ]] || fail "$n of 3 future schedules were failed by the account mark with a history line"
n=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE account_id = '$other' AND status = 'published'")
[[ $n == 2 ]] || fail "the other account published $n of 2"
echo "ok: 8 schedules failed with the reason (3 future ones by the account mark), the other account published"

errors_190=$(sandbox_get /_sandbox/stats | jq '.errors["190"] // 0')
[[ $errors_190 == 1 ]] || fail "the sandbox answered $errors_190 token errors; exactly one call may fail"
requests=$(sandbox_stat requests)
[[ $requests == 3 ]] || fail "the sandbox got $requests calls (expected 1 failed + 2 published)"
blocked=$(log_count publisher-facebook job_failed)
echo "ok: one failed call for the account; the publisher failed $blocked jobs in all"

# Reconnect: a new token, the account active again, new posts publish.
out=$(printf 'fresh-token\n' | svc_ctl accounts set-credential "$revoked" --token -) ||
    fail "set-credential failed: $out"
[[ $out == *"reauth_required -> active"* ]] || fail "set-credential said: $out"
row=$(stack_psql -F '|' -c "SELECT status, coalesce(status_reason, '') FROM social_accounts WHERE id = '$revoked'")
[[ $row == "active|" ]] || fail "after set-credential: $row"
for i in 1 2 3; do insert_schedule "$revoked" "after reconnect $i" '0 s' >/dev/null; done
svc_wait_terminal 13 60 || fail "the new schedules did not end"
n=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE account_id = '$revoked' AND status = 'published'")
[[ $n == 3 ]] || fail "after reconnecting, $n of 3 new posts published"
errors_190=$(sandbox_get /_sandbox/stats | jq '.errors["190"] // 0')
[[ $errors_190 == 1 ]] || fail "token errors after reconnecting: $errors_190"
echo "ok: set-credential reconnected the account and its new posts published"

e2e_finish
pass "reauth marks the account, fails its schedules with one platform call, set-credential resumes"
