#!/usr/bin/env bash
# bench/events_cost.sh -- what the outbox triggers (deploy/migrations/
# 0012_events.sql) add to the dispatcher's fold, measured in PostgreSQL alone.
#
#   bench/events_cost.sh [ROWS_PER_BATCH] [BATCHES]     (defaults 500 40)
#
# A private stack (tests/fixtures/stack.sh), migrated, seeded with pending
# schedules; then pgbench runs batches of the two UPDATE shapes every
# schedule goes through, one batch per transaction: the scheduler's mark
# (pending -> queued: no event, but the statement trigger still sees the
# rows) and the dispatcher's fold (queued -> published, as
# AP_FOLD_SQL_UPDATE writes them: one event row each, their JSON and one
# NOTIFY), with the event trigger disabled and enabled in turn. The
# figure is the mean latency of a batch; the difference per row is the
# trigger's cost. Nothing else of autopost runs, so it is the cost without
# contention (but not without neighbours: alternating is what keeps a
# shared machine's noise out of the difference).
# Uses $AUTOPOST_BIN/autopostctl (build-asan/bin by default) only to migrate.
set -euo pipefail
ROWS=${1:-500}
BATCHES=${2:-40}
: "${AUTOPOST_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${AUTOPOST_BIN:=$AUTOPOST_SRC/build-asan/bin}"
source "$AUTOPOST_SRC/tests/fixtures/stack.sh"

stack_trap
stack_start >/dev/null || { echo "events_cost: could not start the stack" >&2; exit 1; }
printf 'nats:\n  url: %s\npostgres:\n  dsn: "%s"\nplatforms:\n  facebook:\n' \
    "$AUTOPOST_NATS_URL" "$AUTOPOST_POSTGRES_DSN" >"$STACK_DIR/bench.yaml"
"$AUTOPOST_BIN/autopostctl" --config "$STACK_DIR/bench.yaml" migrate >/dev/null

total=$((ROWS * BATCHES * 2))
stack_psql >/dev/null <<SQL
INSERT INTO social_accounts (platform, external_id, credentials) VALUES ('facebook', 'bench', '\\x00');
WITH p AS (INSERT INTO posts (text) SELECT 'bench ' || g FROM generate_series(1, $total) g RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT p.id, (SELECT id FROM social_accounts), now() + interval '1 day' FROM p;
VACUUM ANALYZE;
SQL

# queue: the scheduler's mark (pending -> queued), which moves no row into an
# event status; fold: the dispatcher's (queued -> published), one event a
# row. Each pgbench transaction runs both with the trigger off, then both
# with it on, each statement its own transaction: on and off alternate batch
# by batch, so a busy neighbour on the machine slows both alike, and -r
# reports each statement's mean latency.
queue="UPDATE post_schedules s SET status = 'queued', queued_at = now(), updated_at = now()
 WHERE s.id IN (SELECT id FROM post_schedules WHERE status = 'pending' LIMIT $ROWS);"
fold="UPDATE post_schedules s SET status = 'published', attempts = s.attempts + 1,
       published_at = now(), external_post_id = 'x' || s.id, external_url = 'https://x/' || s.id,
       error_class = NULL, error_code = NULL, error_message = NULL, updated_at = now()
 WHERE s.id IN (SELECT id FROM post_schedules WHERE status = 'queued' LIMIT $ROWS);"
# pgbench reads one statement a line.
{
    echo "ALTER TABLE post_schedules DISABLE TRIGGER post_schedules_event_update;"
    echo "$queue" | tr '\n' ' '; echo
    echo "$fold" | tr '\n' ' '; echo
    echo "ALTER TABLE post_schedules ENABLE TRIGGER post_schedules_event_update;"
    echo "$queue" | tr '\n' ' '; echo
    echo "$fold" | tr '\n' ' '; echo
} >"$STACK_DIR/alternate.sql"
pgbench -n -r -f "$STACK_DIR/alternate.sql" -t "$BATCHES" -c 1 "$AUTOPOST_POSTGRES_DSN" \
    >"$STACK_DIR/pgbench.out" 2>&1 || { cat "$STACK_DIR/pgbench.out" >&2; exit 1; }
# The per-statement lines, in script order: ALTER, queue, fold, ALTER, queue, fold.
mapfile -t ms < <(awk '/statement latencies/ { on = 1; next } on && NF { print $1 }' "$STACK_DIR/pgbench.out")
((${#ms[@]} == 6)) || { cat "$STACK_DIR/pgbench.out" >&2; exit 1; }
events=$(stack_psql -c "SELECT count(*) FROM events")
awk -v qoff="${ms[1]}" -v foff="${ms[2]}" -v qon="${ms[4]}" -v fon="${ms[5]}" -v rows="$ROWS" \
    -v n="$BATCHES" -v ev="$events" 'BEGIN {
    printf "%d alternations, batches of %d rows, mean ms per batch (trigger off / on):\n", n, rows
    printf "  queue (no event) %8.2f / %8.2f  %+6.1f us per row\n", qoff, qon, (qon - qoff) / rows * 1000
    printf "  fold (one event) %8.2f / %8.2f  %+6.1f us per row\n", foff, fon, (fon - foff) / rows * 1000
    printf "  %d events written\n", ev }'
