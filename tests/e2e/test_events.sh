#!/usr/bin/env bash
# Outcome events (README "Events", deploy/migrations/0012_events.sql,
# dispatcher/relay.h):
#   1. Every state change an application hears about has exactly one event
#      row, written by the change's own transaction, whoever made the change:
#      published and failed by the dispatcher's fold, failed by the
#      scheduler's validation refusal, the account's reauth_required and the
#      cascade's failures, a cancel by autopostctl. Each event is in
#      AUTOPOST_EVENTS exactly once, on autopost.events.<tenant>.<type>, with
#      Nats-Msg-Id = event id and the documented JSON.
#   2. The dispatcher killed (SIGKILL) after the events' transactions
#      committed and before the relay published them, then again after the
#      PubAcks and before marking them relayed: no event is lost, the
#      re-relayed ones keep their ids, and the stream holds one message per
#      event id.
#   3. Two dispatcher replicas relay side by side: still one message per event.
source "$(dirname "$0")/lib.sh"

if ! grep -aq AUTOPOST_FAILPOINT "$AUTOPOST_BIN/autopost-dispatcher"; then
    echo "skipped: failpoints are compiled out of this build (cmake -DAUTOPOST_FAILPOINTS=ON)"
    exit 77
fi

DEFAULT_TENANT=00000000-0000-0000-0000-000000000001
DUMP=$AUTOPOST_BIN/../tests/js_stream_dump

SVC_CONCURRENCY=1 e2e_begin
other_tenant=$(stack_psql -c "INSERT INTO tenants (name) VALUES ('second') RETURNING id")
good=$(svc_ctl accounts add --platform facebook --external-id 3001 --token good-token)
off=$(svc_ctl accounts add --platform facebook --external-id 3002 --token good-token)
revoked=$(svc_ctl accounts add --platform facebook --external-id 3003 --token revoked-by-user)
svc_ctl accounts set-status "$off" disabled >/dev/null
stack_psql -c "UPDATE social_accounts SET tenant_id = '$other_tenant' WHERE id = '$revoked'" >/dev/null

# insert_schedule ACCOUNT TEXT DELAY -> schedule id
insert_schedule() {
    stack_psql -v account="$1" -v text="$2" -v delay="$3" <<'SQL'
WITH p AS (INSERT INTO posts (text) VALUES (:'text') RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT p.id, (:'account')::uuid, now() + (:'delay')::interval FROM p RETURNING id;
SQL
}
for i in 1 2 3; do insert_schedule "$good" "published $i" '0 s' >/dev/null; done
refused=$(insert_schedule "$off" "the account is disabled" '0 s')
later=$(insert_schedule "$good" "cancelled tomorrow" '1 day')
insert_schedule "$revoked" "revoked now" '0 s' >/dev/null
insert_schedule "$revoked" "revoked tomorrow" '1 day' >/dev/null
svc_ctl cancel "$later" >/dev/null || fail "cancel"

# ---- 1. one event per change, each relayed once --------------------------------
svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook
svc_wait_terminal 7 90 || fail "the schedules did not all end"

unrelayed() { stack_psql -c "SELECT count(*) FROM events WHERE relayed_at IS NULL"; }
wait_relayed() {
    local i
    for i in $(seq 1 150); do
        [[ $(unrelayed) -eq 0 ]] && return 0
        sleep 0.2
    done
    return 1
}
wait_relayed || fail "$(unrelayed) events still unrelayed"

# Every schedule in an event status has exactly one event of that status,
# and nothing else has one: a path that changes a status without its event
# (the scheduler's refusal, the cascade, a cancel) fails here.
missing=$(stack_psql -c "SELECT count(*) FROM post_schedules s
                          WHERE s.status IN ('published', 'failed', 'unconfirmed', 'cancelled')
                            AND (SELECT count(*) FROM events e WHERE e.schedule_id = s.id
                                   AND e.type = 'schedule.' || s.status) <> 1")
[[ $missing -eq 0 ]] || fail "$missing schedules lack their one event"
count_type() { stack_psql -c "SELECT count(*) FROM events WHERE type = '$1'"; }
[[ $(count_type schedule.published) -eq 3 ]] || fail "published events: $(count_type schedule.published)"
[[ $(count_type schedule.failed) -eq 3 ]] || fail "failed events: $(count_type schedule.failed)"
[[ $(count_type schedule.cancelled) -eq 1 ]] || fail "cancelled events: $(count_type schedule.cancelled)"
[[ $(count_type account.reauth_required) -eq 1 ]] ||
    fail "reauth events: $(count_type account.reauth_required)"
total=$(stack_psql -c "SELECT count(*) FROM events")
[[ $total -eq 8 ]] || fail "$total events, expected 8"
echo "ok: 8 events written (3 published, 3 failed, 1 cancelled, 1 reauth_required)"

# check_stream: one message per event row, subject and body as documented.
check_stream() {
    local dump
    dump=$("$DUMP" "$AUTOPOST_NATS_URL" AUTOPOST_EVENTS) || fail "cannot read AUTOPOST_EVENTS"
    local rows msgs ids
    rows=$(stack_psql -c "SELECT count(*) FROM events")
    msgs=$(grep -c . <<<"$dump" || true)
    [[ $msgs -eq $rows ]] || fail "AUTOPOST_EVENTS holds $msgs messages for $rows events"
    ids=$(cut -f3 <<<"$dump" | sort -u | grep -c . || true)
    [[ $ids -eq $rows ]] || fail "$ids distinct message ids for $rows events"
    # Each row's id, subject and body, compared with its message.
    local want got
    want=$(stack_psql -F $'\t' -c "SELECT 'autopost.events.' || tenant_id || '.' || type, id, body
                                    FROM events ORDER BY id")
    got=$(cut -f2- <<<"$dump" | LC_ALL=C sort -t $'\t' -k2,2)
    [[ $got == "$want" ]] || fail "stream and events table differ:
$(diff <(echo "$want") <(echo "$got") | head -n 20)"
    # The body names its own id and tenant, the subject's.
    local subject id body
    while IFS=$'\t' read -r _ subject id body; do
        jq -e --arg id "$id" --arg subject "$subject" \
            '.id == $id and $subject == "autopost.events.\(.tenant_id).\(.type)"
             and (.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$"))' \
            <<<"$body" >/dev/null || fail "message $id on $subject: body does not match: $body"
    done <<<"$dump"
}
check_stream

# The documented shape, on the refused schedule's event.
body=$(stack_psql -c "SELECT body FROM events WHERE schedule_id = '$refused'")
jq -e --arg sid "$refused" --arg acc "$off" --arg tenant "$DEFAULT_TENANT" '
    .type == "schedule.failed" and .tenant_id == $tenant and (.data.post_id | length) == 36
    and (.data.schedule | keys) == (["account_id","attempts","error","external_id","external_url",
                                     "id","part_external_ids","platform","published_at",
                                     "scheduled_at","status","trace_id"])
    and .data.schedule.part_external_ids == []
    and (.data.schedule.trace_id | test("^[0-9a-f]{32}$"))
    and .data.schedule.id == $sid and .data.schedule.account_id == $acc
    and .data.schedule.platform == "facebook" and .data.schedule.status == "failed"
    and .data.schedule.published_at == null and .data.schedule.error.class == "invalid"
    and (.data.schedule.error.message | test("disabled"))' <<<"$body" >/dev/null ||
    fail "refused schedule's event: $body"
body=$(stack_psql -c "SELECT body FROM events WHERE type = 'schedule.published' LIMIT 1")
jq -e '.data.schedule.error == null and (.data.schedule.external_id | length) > 0
       and (.data.schedule.published_at | test("Z$"))' <<<"$body" >/dev/null ||
    fail "published event: $body"
# The second tenant's account: its events are on its own subjects.
body=$(stack_psql -c "SELECT body FROM events WHERE type = 'account.reauth_required'")
jq -e --arg acc "$revoked" --arg tenant "$other_tenant" '
    .tenant_id == $tenant and .data.account.id == $acc and .data.account.status == "reauth_required"
    and (.data.account.reason | length) > 0' <<<"$body" >/dev/null || fail "reauth event: $body"
n=$("$DUMP" "$AUTOPOST_NATS_URL" AUTOPOST_EVENTS | cut -f2 | grep -c "^autopost\.events\.$other_tenant\." || true)
[[ $n -eq 3 ]] || fail "$n events on the second tenant's subjects, expected 3 (reauth + 2 failed)"
echo "ok: every event in AUTOPOST_EVENTS once, subjects per tenant and type, bodies as documented"
pass "one event per state change, relayed once"

# ---- 2. kill -9 between commit and relay, and between PubAck and mark ----------
svc_kill dispatcher TERM || fail "dispatcher did not stop cleanly"
before=$(stack_psql -c "SELECT count(*) FROM events")
results_before=$(jsz_stream_messages AUTOPOST_RESULTS)
for i in $(seq 1 20); do insert_schedule "$good" "crash $i" '0 s' >/dev/null; done
# The jobs are published and their results wait in AUTOPOST_RESULTS.
results_at_least() { (($(jsz_stream_messages AUTOPOST_RESULTS) >= $1)); }
stack_wait_for results_at_least $((results_before + 20)) >/dev/null ||
    fail "the results did not arrive"

AUTOPOST_FAILPOINT=relay_before_publish svc_start dispatcher
rc=0
wait "${SVC_PIDS[dispatcher]}" || rc=$?
unset "SVC_PIDS[dispatcher]"
[[ $rc -eq 137 ]] || fail "dispatcher should have been killed before publishing (exit $rc)"
written=$(($(stack_psql -c "SELECT count(*) FROM events") - before))
((written > 0)) || fail "the killed dispatcher committed no event"
[[ $(unrelayed) -eq $written ]] || fail "$(unrelayed) unrelayed, expected all $written new"
stored=$(jsz_stream_messages AUTOPOST_EVENTS)
[[ $stored -eq $before ]] || fail "AUTOPOST_EVENTS grew to $stored before any relay"
echo "ok: killed after $written events committed, none relayed"

AUTOPOST_FAILPOINT=relay_before_mark svc_start dispatcher
rc=0
wait "${SVC_PIDS[dispatcher]}" || rc=$?
unset "SVC_PIDS[dispatcher]"
[[ $rc -eq 137 ]] || fail "dispatcher should have been killed before marking (exit $rc)"
stored=$(jsz_stream_messages AUTOPOST_EVENTS)
((stored > before)) || fail "the second run published nothing before it died"
(($(unrelayed) >= stored - before)) || fail "events published by the killed relay are marked relayed"
echo "ok: killed after $((stored - before)) PubAcks, before marking them"

svc_start dispatcher
svc_wait_terminal 27 90 || fail "the crash schedules did not all end"
wait_relayed || fail "$(unrelayed) events still unrelayed after the restart"
total=$(stack_psql -c "SELECT count(*) FROM events")
[[ $total -eq $((8 + 20)) ]] || fail "$total events, expected 28"
check_stream
echo "ok: after the two crashes, 28 events and one message each"

# ---- 3. two dispatcher replicas share the relay (FOR UPDATE SKIP LOCKED) ------
svc_start dispatcher@2
stack_psql -v account="$good" >/dev/null <<'SQL'
WITH p AS (INSERT INTO posts (text) SELECT 'replicas ' || g FROM generate_series(1, 150) g RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at) SELECT p.id, (:'account')::uuid, now() FROM p;
SQL
svc_wait_terminal 177 120 || fail "the replicas' schedules did not all end"
wait_relayed || fail "$(unrelayed) events unrelayed with two relays"
check_stream
echo "ok: two relays, $(stack_psql -c "SELECT count(*) FROM events") events, one message each" \
    "(passes: $(log_count dispatcher events_relayed) and $(log_count dispatcher@2 events_relayed))"
e2e_finish
dups=$(grep -o '"event":"relay_stopped".*' "$STACK_DIR/logs/dispatcher.log" | tail -n1 |
    grep -o '[0-9]* of them duplicates' | cut -d' ' -f1)
((dups > 0)) || fail "the restarted relay reported no duplicate PubAck (re-relay not exercised)"
echo "ok: $dups events relayed twice were dropped by JetStream's duplicate window"
pass "dispatcher killed between commit and relay: no event lost, one message per event id"
