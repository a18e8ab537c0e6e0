#!/usr/bin/env bash
# Least privilege in PostgreSQL (deploy/migrations/0002_roles.sql).
#
#   1. A database owner without CREATEROLE cannot create the group roles:
#      migrate stops with a hint and 0002 is rolled back.
#   2. The same owner with CREATEROLE creates them (NOLOGIN) and its login
#      users; the superuser migrating a second database finds them and only
#      adds that database's grants.
#   3. The real scheduler and dispatcher run as login users that are members
#      of autopost_scheduler / autopost_dispatcher, autopostctl as a member of
#      autopost_admin, the publisher with no usable database at all: posts
#      publish, a disabled account's posts fail, nothing says "permission
#      denied".
#   4. psql as each user: what the role must not do is refused; the
#      scheduler and the dispatcher may update only the columns they write
#      (0009_narrow_roles.sql), the admin may not TRUNCATE nor add triggers,
#      the console role only reads, and nobody may CREATE in schema public.
source "$(dirname "$0")/lib.sh"

# dsn_for DATABASE USER
dsn_for() { printf 'host=127.0.0.1 port=%s dbname=%s user=%s connect_timeout=5' "$PG_PORT" "$1" "$2"; }
# psql_as DATABASE USER ARGS...
psql_as() {
    local db=$1 user=$2
    shift 2
    psql "$(dsn_for "$db" "$user")" -v ON_ERROR_STOP=1 -XAtq "$@"
}

stack_trap
stack_start || fail "could not start nats-server and PostgreSQL"
svc_sandbox_start --latency-ms 5 || fail "could not start the sandbox"
svc_config

# ---- 1. no CREATEROLE: refused with the reason -------------------------------
stack_psql -c "CREATE ROLE ap_owner LOGIN NOCREATEROLE NOSUPERUSER" \
    -c "CREATE DATABASE autopost_owned OWNER ap_owner" || fail "cannot create the owner database"
owned_dsn=$(dsn_for autopost_owned ap_owner)
rc=0
out=$(AUTOPOST_POSTGRES_DSN=$owned_dsn svc_ctl migrate 2>&1) || rc=$?
[[ $rc -eq 1 ]] || fail "migrate by an owner without CREATEROLE exited $rc, expected 1: $out"
[[ $out == *"role autopost_scheduler does not exist and ap_owner may not create roles"* ]] ||
    fail "migrate did not say why: $out"
[[ $out == *"CREATEROLE"* ]] || fail "migrate gave no hint: $out"
applied=$(psql_as autopost_owned ap_owner -c \
    "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")
[[ $applied == 1 ]] || fail "schema_migrations after the refused 0002: '$applied', expected '1'"
[[ $(stack_psql -c "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'autopost\_%'") -eq 0 ]] ||
    fail "a refused migration left roles behind"
pass "an owner without CREATEROLE is refused with a hint, 0002 rolled back"

# ---- 2. owner with CREATEROLE, then the superuser on another database --------
stack_psql -c "ALTER ROLE ap_owner CREATEROLE" || fail "ALTER ROLE failed"
AUTOPOST_POSTGRES_DSN=$owned_dsn svc_ctl migrate >/dev/null || fail "migrate by owner with CREATEROLE"
roles=$(stack_psql -c "SELECT string_agg(rolname || ':' || rolcanlogin || ':' || rolsuper, ','
                        ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'autopost\_%'")
want=autopost_admin:false:false,autopost_api:false:false,autopost_console:false:false,autopost_console_actions:false:false,autopost_dispatcher:false:false,autopost_scheduler:false:false,autopost_webhooks:false:false
[[ $roles == "$want" ]] || fail "roles: $roles, expected $want"
svc_ctl migrate >/dev/null || fail "migrate of the main database (roles already there)"
# The newest migration's number, so adding one does not break this test.
latest=$(find "$AUTOPOST_SRC/deploy/migrations" -name '[0-9]*.sql' -printf '%f\n' | sort | tail -1)
latest=$((10#${latest%%_*}))
out=$(svc_ctl migrate) || fail "second migrate"
[[ $out == "up to date (version $latest)" ]] || fail "second migrate said: $out"
out=$(AUTOPOST_POSTGRES_DSN=$owned_dsn svc_ctl migrate) || fail "second migrate (owned)"
[[ $out == "up to date (version $latest)" ]] || fail "second migrate (owned) said: $out"
svc_ctl streams apply >/dev/null || fail "streams apply failed"
pass "roles created NOLOGIN by a CREATEROLE owner; existing roles reused; migrate idempotent"

# Login users as a deployment makes them: by the (non-superuser) owner.
psql_as autopost_owned ap_owner \
    -c "CREATE ROLE sched_login LOGIN IN ROLE autopost_scheduler" \
    -c "CREATE ROLE disp_login LOGIN IN ROLE autopost_dispatcher" \
    -c "CREATE ROLE admin_login LOGIN IN ROLE autopost_admin" \
    -c "CREATE ROLE console_login LOGIN IN ROLE autopost_console" \
    -c "CREATE ROLE actions_login LOGIN IN ROLE autopost_console, autopost_console_actions" ||
    fail "the CREATEROLE owner could not create the login users"
sched_dsn=$(dsn_for autopost sched_login)
disp_dsn=$(dsn_for autopost disp_login)
admin_dsn=$(dsn_for autopost admin_login)

# ---- 3. the real services under those users ------------------------------------
at=$(rfc3339_in 3)
total=$(AUTOPOST_POSTGRES_DSN=$admin_dsn seed_scenario 5 2 2 "$at") || fail "seeding as admin"
[[ $total -eq 20 ]] || fail "seeded $total schedules, expected 20"
disabled=$(head -n 1 "$STACK_DIR/seed/account_ids.txt")
AUTOPOST_POSTGRES_DSN=$admin_dsn svc_ctl accounts set-status "$disabled" disabled >/dev/null ||
    fail "accounts set-status as admin"
AUTOPOST_POSTGRES_DSN=$admin_dsn svc_ctl list >/dev/null || fail "list as admin"
out=$(AUTOPOST_POSTGRES_DSN=$admin_dsn svc_ctl keys rotate) || fail "keys rotate as admin: $out"
[[ $out == *"already current  10"* ]] || fail "keys rotate as admin: $out"

AUTOPOST_POSTGRES_DSN=$disp_dsn svc_start dispatcher
# Publishers never touch PostgreSQL: give this one a database nobody can reach.
AUTOPOST_POSTGRES_DSN="host=127.0.0.1 port=1 dbname=none user=none connect_timeout=1" \
    svc_start publisher-facebook
AUTOPOST_POSTGRES_DSN=$sched_dsn svc_start scheduler
SVC_QUIET=1 svc_wait_terminal 20 120 || fail "not every schedule reached a final state"

users=$(stack_psql -c "SELECT string_agg(DISTINCT usename || '=' || application_name, ','
                        ORDER BY usename || '=' || application_name)
                         FROM pg_stat_activity WHERE application_name LIKE 'autopost-%'")
[[ $users == "disp_login=autopost-dispatcher,sched_login=autopost-scheduler" ]] ||
    fail "services connected as: $users"
check_exactly_once 18 || fail "exactly-once check"
failed=$(stack_psql -c "SELECT count(*) FROM post_schedules s WHERE status = 'failed'
                          AND error_class = 'invalid' AND account_id = '$disabled'")
[[ $failed -eq 2 ]] || fail "$failed schedules of the disabled account failed, expected 2"
history=$(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE event IN ('queued', 'published')")
[[ $history -eq 36 ]] || fail "history has $history queued/published lines, expected 36"
# The event triggers run as the migration's owner (0012_events.sql): the
# narrow roles' changes still write their events, which the relay relays.
events=$(stack_psql -c "SELECT count(*) FILTER (WHERE type = 'schedule.published') || '/' ||
                               count(*) FILTER (WHERE type = 'schedule.failed'
                                                  AND account_id = '$disabled') FROM events")
[[ $events == 18/2 ]] || fail "events published/refused: $events, expected 18/2"
relayed() { [[ $(stack_psql -c "SELECT count(*) FROM events WHERE relayed_at IS NULL") -eq 0 ]]; }
stack_wait_for relayed >/dev/null || fail "the dispatcher's relay left events unrelayed"
if grep -l 'permission denied' "$STACK_DIR"/logs/*.log; then
    fail "a service was refused something it needs"
fi
pass "scheduler, dispatcher and autopostctl work under their roles (18 published, 2 refused)"

# ---- 4. what each role must not do -------------------------------------------------
# deny USER SQL: the statement fails for lack of privilege (not for another reason).
deny() {
    local out
    if out=$(psql_as autopost "$1" -c "$2" 2>&1); then
        fail "$1 was allowed: $2"
    fi
    [[ $out == *"permission denied"* || $out == *"must be owner"* ]] ||
        fail "$1: '$2' failed, but not for lack of privilege: $out"
}
allow() { psql_as autopost "$1" -c "$2" >/dev/null || fail "$1 was refused: $2"; }

for user in sched_login disp_login; do
    deny "$user" "DELETE FROM post_schedules"
    deny "$user" "TRUNCATE post_schedules"
    deny "$user" "UPDATE social_accounts SET external_id = 'hijacked'"
    deny "$user" "UPDATE social_accounts SET platform = 'x'"
    deny "$user" "INSERT INTO social_accounts (platform, external_id, credentials)
                  VALUES ('facebook', 'x', '\\x00')"
    deny "$user" "DELETE FROM social_accounts"
    deny "$user" "UPDATE posts SET text = 'defaced'"
    deny "$user" "DELETE FROM posts"
    deny "$user" "UPDATE schedule_attempts SET actor = 'x'"
    deny "$user" "DELETE FROM schedule_attempts"
    deny "$user" "INSERT INTO post_schedules (post_id, account_id, scheduled_at)
                  SELECT post_id, account_id, now() FROM post_schedules LIMIT 1"
    deny "$user" "SELECT * FROM schema_migrations"
    deny "$user" "DROP TABLE post_schedules"
    deny "$user" "CREATE TABLE owned_by_attacker (x int)"
    deny "$user" "CREATE ROLE intruder LOGIN"
done
allow sched_login "SELECT count(*) FROM social_accounts" # it forwards the sealed token
# Recurring posts (0017): occurrence rows only through the function, which
# makes nothing for a post that is not a live series; only the mark on posts.
allow sched_login "SELECT * FROM autopost_occurrences_insert(gen_random_uuid(), '{1}', '{pending}', 'x')"
allow sched_login "UPDATE posts SET recur_materialised_until = now() WHERE false"
deny sched_login "UPDATE posts SET recur_rrule = 'FREQ=DAILY'"
deny sched_login "UPDATE social_accounts SET status = 'disabled'"
deny disp_login "SELECT credentials FROM social_accounts"
deny disp_login "SELECT external_id FROM social_accounts"
# It marks accounts reauth_required and stores refreshed (sealed) credentials
# (0004_account_credentials.sql), and can see which account it changes.
allow disp_login "UPDATE social_accounts SET status = 'active', credentials = '\\x00', credentials_issued_at_ms = 0 WHERE false"
allow disp_login "SELECT count(*) FROM social_accounts WHERE status = 'active'"
allow disp_login "WITH a AS (UPDATE social_accounts SET status = 'reauth_required', status_reason = 'x',
                  updated_at = now() WHERE id = gen_random_uuid() AND status = 'active'
                  AND credentials_issued_at_ms <= 0 RETURNING id) SELECT count(*) FROM a"
# A platform's "slow down" pauses accounts (0005_deferral.sql): the pause
# column and the platform it matches on, nothing more.
allow disp_login "UPDATE social_accounts a SET paused_until = now() FROM social_accounts x
                  WHERE a.id = x.id AND x.platform = 'x' AND false"
deny disp_login "UPDATE social_accounts SET display_name = 'x'"
deny disp_login "SELECT text FROM posts"
deny disp_login "SELECT error_message FROM schedule_attempts"
allow disp_login "SELECT count(*) FROM post_schedules"
# Events: the relay reads them and stamps relayed_at; nobody forges,
# rewrites or deletes one.
allow disp_login "UPDATE events SET relayed_at = relayed_at WHERE false"
deny disp_login "UPDATE events SET body = '{}' WHERE false"
deny disp_login "INSERT INTO events (id, tenant_id, type, account_id, body)
                 VALUES (gen_random_uuid(), gen_random_uuid(), 'schedule.failed', gen_random_uuid(), '{}')"
deny disp_login "DELETE FROM events"
deny sched_login "SELECT count(*) FROM events"
deny sched_login "INSERT INTO events (id, tenant_id, type, account_id, body)
                  VALUES (gen_random_uuid(), gen_random_uuid(), 'schedule.failed', gen_random_uuid(), '{}')"
deny admin_login "INSERT INTO events (id, tenant_id, type, account_id, body)
                  VALUES (gen_random_uuid(), gen_random_uuid(), 'schedule.failed', gen_random_uuid(), '{}')"
deny admin_login "UPDATE events SET relayed_at = NULL"
deny admin_login "DROP TABLE post_schedules"
deny admin_login "ALTER TABLE social_accounts ADD COLUMN plain_token text"
deny admin_login "CREATE ROLE intruder LOGIN"
allow admin_login "SELECT count(*) FROM social_accounts"
deny admin_login "TRUNCATE schedule_attempts"
deny admin_login "TRUNCATE post_schedules"
deny admin_login "CREATE TRIGGER t BEFORE UPDATE ON post_schedules
                  FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()"
# Only the columns each service writes (0009_narrow_roles.sql): a
# compromised dispatcher cannot repoint a post at another account.
some=$(stack_psql -c "SELECT id FROM post_schedules LIMIT 1")
for col in account_id post_id scheduled_at created_at; do
    deny disp_login "UPDATE post_schedules SET $col = $col WHERE id = '$some'"
    deny sched_login "UPDATE post_schedules SET $col = $col WHERE id = '$some'"
done
for col in generation attempts external_post_id external_url published_at not_before; do
    deny sched_login "UPDATE post_schedules SET $col = $col WHERE id = '$some'"
done
allow sched_login "UPDATE post_schedules SET status = status, queued_at = queued_at,
                   error_class = error_class, error_code = error_code,
                   error_message = error_message, updated_at = updated_at WHERE false"
allow disp_login "UPDATE post_schedules SET status = status, generation = generation,
                  not_before = not_before, attempts = attempts,
                  external_post_id = external_post_id, external_url = external_url,
                  published_at = published_at, error_class = error_class,
                  error_code = error_code, error_message = error_message,
                  updated_at = updated_at WHERE false"
# The console reads what its pages show, never a credential, and writes
# nothing; the actions role adds exactly retry and cancel.
allow console_login "SELECT count(*) FROM post_schedules s JOIN posts p ON p.id = s.post_id
                     JOIN social_accounts a ON a.id = s.account_id
                     JOIN schedule_attempts h ON h.schedule_id = s.id"
allow console_login "SELECT id, platform, external_id, display_name, status FROM social_accounts"
deny console_login "SELECT credentials FROM social_accounts"
deny console_login "SELECT * FROM schema_migrations"
deny console_login "UPDATE post_schedules SET status = 'cancelled'"
deny console_login "UPDATE social_accounts SET status = 'disabled'"
deny console_login "INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, actor)
                    SELECT id, generation, 0, 'x', 'x' FROM post_schedules LIMIT 1"
deny console_login "DELETE FROM post_schedules"
# Failing webhooks (0024): the list's columns, never the sealed secret or a
# delivery, and no write.
allow console_login "SELECT id, tenant_id, url, event_types, created_at, failing_since FROM webhook_endpoints"
deny console_login "SELECT secret_sealed FROM webhook_endpoints"
deny console_login "SELECT id FROM webhook_deliveries"
deny console_login "UPDATE webhook_endpoints SET failing_since = NULL"
deny actions_login "UPDATE post_schedules SET account_id = account_id WHERE id = '$some'"
deny actions_login "SELECT credentials FROM social_accounts"
allow actions_login "BEGIN; UPDATE post_schedules SET status = 'cancelled',
                     error_message = 'x', updated_at = now() WHERE id = '$some'; ROLLBACK"
for user in sched_login disp_login admin_login console_login actions_login; do
    deny "$user" "CREATE TABLE public.planted (x int)"
done
allow admin_login "BEGIN; DELETE FROM schedule_attempts WHERE false; ROLLBACK"
pass "each role is refused what it does not need"

e2e_finish
pass "PostgreSQL roles: least privilege end to end"
