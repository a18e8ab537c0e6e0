#!/usr/bin/env bash
# Retention (deploy/migrations/0021_retention.sql, README "Retention"):
#   1. autopost_prune_events, as the dispatcher's role, deletes relayed events
#      older than the retention and nothing else: an unrelayed event is kept
#      however old, a recent relayed one is kept. The role still cannot
#      DELETE from events itself.
#   2. The dispatcher's relay prunes on its own: with events.retention 2s the
#      events of three published posts are relayed, then deleted.
#   3. The webhooks service deletes finished deliveries (delivered, failed)
#      older than webhooks.delivery_retention and keeps a pending one,
#      however old.
source "$(dirname "$0")/lib.sh"

e2e_begin
T1=00000000-0000-0000-0000-000000000001
svc_config "events:
  retention: 2s
webhooks:
  delivery_retention: 2s
  retry_initial: 30s
  timeout: 1s
  allow_private: true"
account=$(svc_ctl accounts add --platform facebook --external-id 7001 --token good-token)

# ---- 1. the function alone ------------------------------------------------------
# Three rows written as the owner (the triggers' role): old relayed, old
# unrelayed, recent relayed.
event_row() { # ID RELAYED_AT CREATED_AT
    stack_psql -c "INSERT INTO events (id, tenant_id, type, account_id, body, created_at, relayed_at)
                   VALUES ('$1', '$T1', 'account.reauth_required', '$account', '{}', $3, $2)"
}
old_relayed=11111111-1111-4111-8111-111111111111
old_unrelayed=22222222-2222-4222-8222-222222222222
recent=33333333-3333-4333-8333-333333333333
event_row $old_relayed "now() - interval '1 hour'" "now() - interval '2 hours'"
event_row $old_unrelayed "NULL" "now() - interval '2 hours'"
event_row $recent "now()" "now() - interval '2 hours'"
as_dispatcher() { stack_psql -c "SET ROLE autopost_dispatcher; $1"; }
deleted=$(as_dispatcher "SELECT autopost_prune_events(60000, 100)")
[[ $deleted -eq 1 ]] || fail "the prune deleted $deleted rows, expected the one old relayed row"
left=$(stack_psql -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM events")
[[ $left == "$old_unrelayed,$recent" ]] || fail "rows left after the prune: $left"
out=$(as_dispatcher "DELETE FROM events" 2>&1) && fail "the dispatcher's role deleted events itself"
[[ $out == *"permission denied"* ]] || fail "unexpected refusal: $out"
# The unrelayed row must be relayed by the real relay below; drop the
# hand-made ones so section 2 counts only its own.
stack_psql -c "DELETE FROM events" >/dev/null
pass "autopost_prune_events deletes only old relayed events"

# ---- 2. the relay prunes by itself ----------------------------------------------
for i in 1 2 3; do svc_ctl schedule --account "$account" --at now --text "kept for two seconds $i" >/dev/null ||
    fail "schedule $i"; done
svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook
svc_wait_terminal 3 60 || fail "the schedules did not all end"
published=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE status = 'published'")
[[ $published -eq 3 ]] || fail "$published of 3 published"
# Each event exists at some point (relayed), then goes: the log line counts them.
for _ in $(seq 1 100); do
    [[ $(stack_psql -c "SELECT count(*) FROM events") -eq 0 ]] && break
    sleep 0.2
done
[[ $(stack_psql -c "SELECT count(*) FROM events") -eq 0 ]] ||
    fail "events not pruned: $(stack_psql -c "SELECT count(*), count(relayed_at) FROM events")"
pruned=$(grep -ho '[0-9]* relayed events older than' "$STACK_DIR"/logs/dispatcher*.log |
    awk '{ n += $1 } END { print n + 0 }')
[[ ${pruned:-0} -eq 3 ]] || fail "the relay's log counts ${pruned:-0} pruned events, expected 3"
pass "the relay deleted the 3 relayed events after events.retention"

# ---- 3. the webhooks service prunes finished deliveries -------------------------
read -r hook _ < <(svc_ctl webhooks add --tenant "$T1" --url "http://127.0.0.1:9/never" --events '*') ||
    fail "webhooks add"
delivery() { # EVENT STATE AGE
    stack_psql -c "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body, state,
                                                   created_at, last_attempt_at, next_attempt_at)
                   VALUES ('$hook', '$1', 'schedule.published', '{}', '$2',
                           now() - interval '$3', now() - interval '$3', now() + interval '1 day')"
}
delivery 44444444-4444-4444-8444-444444444441 delivered '1 hour'
delivery 44444444-4444-4444-8444-444444444442 failed '1 hour'
delivery 44444444-4444-4444-8444-444444444443 pending '1 hour'
# (The service also takes section 2's events from the stream: those three
# deliveries stay pending, retrying a closed port, and are not counted.)
svc_start webhooks
mine="event_id::text LIKE '44444444-%'"
for _ in $(seq 1 100); do
    [[ $(stack_psql -c "SELECT count(*) FROM webhook_deliveries WHERE $mine AND state <> 'pending'") -eq 0 ]] &&
        break
    sleep 0.2
done
states=$(stack_psql -c "SELECT string_agg(state, ',') FROM webhook_deliveries WHERE $mine")
[[ $states == pending ]] || fail "deliveries left: $states (expected only the pending one)"
pass "finished deliveries deleted after webhooks.delivery_retention, the pending one kept"

e2e_finish
