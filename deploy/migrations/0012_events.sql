-- 0012_events: the transactional outbox (issue 18, "Outcomes: events").
--
-- Every state change an application cares about leaves one row in `events`,
-- written in the same transaction as the change; the dispatcher's relay
-- (dispatcher/relay.c) publishes each committed row to JetStream
-- AUTOPOST_EVENTS with Nats-Msg-Id = the event id, then marks it relayed.
-- Nothing is sent from the transaction that changed the state: a rolled
-- back change leaves no event, a committed one cannot lose it.
--
--   schedule.published | schedule.failed | schedule.unconfirmed |
--   schedule.cancelled        a post_schedules row moved INTO that status
--   account.reauth_required   a social_accounts row moved into reauth_required
--
-- Why triggers, not code in each writer. The rows move in many places: the
-- dispatcher's fold, its MaxDeliver give-up and its reauth cascade, the
-- scheduler's validation refusals, autopostctl and console cancels and
-- retries, and soon the API. Each is one UPDATE; an AFTER ROW trigger turns
-- "this UPDATE changed the status" into "and the event row exists" inside
-- that statement, so no code path (present or future, SQL typed by hand
-- included) can forget its event, and none of the writers changes. The
-- trigger's WHEN compares OLD and NEW status in C before any PL/pgSQL runs,
-- so the updates that move rows between non-event states (queued,
-- retrying, pending) and the fold's idempotent re-writes pay nothing. The
-- price is one PL/pgSQL call, one INSERT and one pg_notify per event row,
-- inside the writer's transaction: measured in bench/README.md ("Events").
--
-- The trigger functions are SECURITY DEFINER, owned by whoever runs the
-- migration (the database owner), with search_path pinned to this schema
-- then pg_temp: the writing roles need no privilege on `events` at all, so
-- a compromised scheduler or console cannot forge, edit or delete an event,
-- and nothing planted in another schema can shadow what the functions call.
--
-- body is the event JSON exactly as relayed (README "Events"), built once
-- here: a re-relay after a crash sends the very same bytes under the same
-- id, so JetStream's duplicate window drops it and a webhook receiver sees
-- one event id. It is json text (key order as documented), not jsonb.
-- The rows keep their schedule, account and post ids but no foreign keys:
-- an event records what happened and outlives a deleted post.

CREATE TABLE events (
    id          uuid PRIMARY KEY,
    -- Relay order (an identity, not created_at: one transaction writes many
    -- rows with the same now()).
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id   uuid NOT NULL,
    type        text NOT NULL CHECK (type IN ('schedule.published', 'schedule.failed',
                                              'schedule.unconfirmed', 'schedule.cancelled',
                                              'account.reauth_required')),
    schedule_id uuid,
    account_id  uuid NOT NULL,
    post_id     uuid,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    relayed_at  timestamptz
);

-- The relay's query, and its backlog gauges, read only unrelayed rows.
CREATE INDEX events_unrelayed_idx ON events (seq) WHERE relayed_at IS NULL;
CREATE INDEX events_schedule_idx ON events (schedule_id) WHERE schedule_id IS NOT NULL;

-- RFC 3339 UTC with milliseconds, as every timestamp of the event JSON.
CREATE FUNCTION autopost_event_time(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

CREATE FUNCTION autopost_event_schedule() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    ev_id    uuid := gen_random_uuid();
    ev_type  text := 'schedule.' || NEW.status;
    tenant   uuid;
    platform text;
BEGIN
    SELECT a.tenant_id, a.platform INTO tenant, platform
      FROM social_accounts a WHERE a.id = NEW.account_id;
    INSERT INTO events (id, tenant_id, type, schedule_id, account_id, post_id, body)
    VALUES (ev_id, tenant, ev_type, NEW.id, NEW.account_id, NEW.post_id,
            json_build_object(
                'id', ev_id,
                'type', ev_type,
                'created_at', autopost_event_time(now()),
                'tenant_id', tenant,
                'data', json_build_object(
                    'post_id', NEW.post_id,
                    'schedule', json_build_object(
                        'id', NEW.id,
                        'account_id', NEW.account_id,
                        'platform', platform,
                        'status', NEW.status,
                        'attempts', NEW.attempts,
                        'scheduled_at', autopost_event_time(NEW.scheduled_at),
                        'published_at', autopost_event_time(NEW.published_at),
                        'external_id', NEW.external_post_id,
                        'external_url', NEW.external_url,
                        'error', CASE WHEN num_nonnulls(NEW.error_class, NEW.error_code,
                                                        NEW.error_message) = 0 THEN NULL
                                 ELSE json_build_object('class', NEW.error_class,
                                                        'code', NEW.error_code,
                                                        'message', NEW.error_message)
                                 END)))::text);
    -- One wake-up per transaction however many rows: PostgreSQL folds
    -- identical notifications of a transaction into one.
    PERFORM pg_notify('autopost_events', '');
    RETURN NULL;
END;
$$;

CREATE FUNCTION autopost_event_account() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    ev_id uuid := gen_random_uuid();
BEGIN
    INSERT INTO events (id, tenant_id, type, account_id, body)
    VALUES (ev_id, NEW.tenant_id, 'account.reauth_required', NEW.id,
            json_build_object(
                'id', ev_id,
                'type', 'account.reauth_required',
                'created_at', autopost_event_time(now()),
                'tenant_id', NEW.tenant_id,
                'data', json_build_object(
                    'account', json_build_object(
                        'id', NEW.id,
                        'platform', NEW.platform,
                        'external_id', NEW.external_id,
                        'display_name', NEW.display_name,
                        'status', NEW.status,
                        'reason', NEW.status_reason)))::text);
    PERFORM pg_notify('autopost_events', '');
    RETURN NULL;
END;
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION autopost_event_schedule() SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION autopost_event_account() SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
REVOKE ALL ON FUNCTION autopost_event_schedule(), autopost_event_account() FROM PUBLIC;

-- Two triggers per table because WHEN may not name OLD on INSERT. A row is
-- normally inserted pending; one inserted straight into an event status
-- (a hand-written import) still gets its event.
CREATE TRIGGER post_schedules_event_update
    AFTER UPDATE OF status ON post_schedules
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND NEW.status IN ('published', 'failed', 'unconfirmed', 'cancelled'))
    EXECUTE FUNCTION autopost_event_schedule();
CREATE TRIGGER post_schedules_event_insert
    AFTER INSERT ON post_schedules
    FOR EACH ROW
    WHEN (NEW.status IN ('published', 'failed', 'unconfirmed', 'cancelled'))
    EXECUTE FUNCTION autopost_event_schedule();
CREATE TRIGGER social_accounts_event_update
    AFTER UPDATE OF status ON social_accounts
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status = 'reauth_required')
    EXECUTE FUNCTION autopost_event_account();
CREATE TRIGGER social_accounts_event_insert
    AFTER INSERT ON social_accounts
    FOR EACH ROW
    WHEN (NEW.status = 'reauth_required')
    EXECUTE FUNCTION autopost_event_account();

-- The relay (autopost_dispatcher) reads unrelayed rows and stamps relayed_at;
-- nobody but the trigger functions' owner writes anything else. FOR UPDATE
-- needs UPDATE on a column, which relayed_at is.
GRANT SELECT, UPDATE (relayed_at) ON events TO autopost_dispatcher;
GRANT SELECT ON events TO autopost_admin, autopost_console;
