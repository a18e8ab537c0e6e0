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
-- retries, and soon the API. Each is an UPDATE; a trigger turns "this
-- UPDATE changed the status" into "and the event row exists" inside that
-- statement, so no code path (present or future, SQL typed by hand
-- included) can forget its event, and none of the writers changes.
--
-- The UPDATE trigger is per statement, over the transition tables: one
-- INSERT ... SELECT and one NOTIFY for a whole batch of the fold, where a
-- per-row PL/pgSQL trigger runs three statements for every row. Measured
-- alternating batch by batch (bench/events_cost.sh, bench/README.md
-- "Events"), the fold's UPDATE of a batch of 500 rows takes 55-85 us more
-- per event row with this trigger (the UPDATE alone: ~65 us a row), and
-- ~150 us more with a row-level one; an UPDATE that moves no row into an
-- event status (the scheduler's queued mark, retrying) keeps its transition
-- tables for nothing, a cost lost in the noise (within +-13 us a row). Writing a second row with its JSON costs about
-- what the change itself costs; that is the price of the guarantee. Inserts keep a row-level
-- trigger whose WHEN skips PL/pgSQL for every ordinary (pending) row.
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

-- The relay's query, and its backlog gauges, read only unrelayed rows. No
-- other index: each costs every event row its insert (add one, e.g. on
-- schedule_id, when a reader needs it).
CREATE INDEX events_unrelayed_idx ON events (seq) WHERE relayed_at IS NULL;

-- RFC 3339 UTC with milliseconds, as every timestamp of the event JSON.
CREATE FUNCTION autopost_event_time(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- The event JSON of a schedule row, for both triggers below. A plain SQL
-- function whose body is bound when it is created (no search_path at run
-- time), inlined into the statements that call it.
CREATE FUNCTION autopost_schedule_event_body(ev_id uuid, tenant uuid, platform text,
                                             s post_schedules) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN json_build_object(
        'id', ev_id,
        'type', 'schedule.' || s.status,
        'created_at', autopost_event_time(now()),
        'tenant_id', tenant,
        'data', json_build_object(
            'post_id', s.post_id,
            'schedule', json_build_object(
                'id', s.id,
                'account_id', s.account_id,
                'platform', platform,
                'status', s.status,
                'attempts', s.attempts,
                'scheduled_at', autopost_event_time(s.scheduled_at),
                'published_at', autopost_event_time(s.published_at),
                'external_id', s.external_post_id,
                'external_url', s.external_url,
                'error', CASE WHEN num_nonnulls(s.error_class, s.error_code,
                                                s.error_message) = 0 THEN NULL
                         ELSE json_build_object('class', s.error_class,
                                                'code', s.error_code,
                                                'message', s.error_message)
                         END)))::text;

-- Statement level, over the UPDATE's transition tables: one INSERT ... SELECT
-- and one NOTIFY per statement, however many rows the fold's batch moved.
-- The transition tables are kept for every UPDATE of post_schedules, also
-- those that move no row into an event status (see the figures above).
CREATE FUNCTION autopost_events_schedules_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    -- The inner query keeps gen_random_uuid() per row (a volatile target
    -- list is never flattened into the outer one).
    INSERT INTO events (id, tenant_id, type, schedule_id, account_id, post_id, body)
    SELECT x.ev_id, x.tenant_id, 'schedule.' || (x.s).status, (x.s).id, (x.s).account_id,
           (x.s).post_id, autopost_schedule_event_body(x.ev_id, x.tenant_id, x.platform, x.s)
      FROM (SELECT gen_random_uuid() AS ev_id, a.tenant_id, a.platform,
                   ROW(n.*)::post_schedules AS s
              FROM new_rows n
              JOIN old_rows o ON o.id = n.id
              JOIN social_accounts a ON a.id = n.account_id
             WHERE n.status IS DISTINCT FROM o.status
               AND n.status IN ('published', 'failed', 'unconfirmed', 'cancelled')) x;
    -- One wake-up for the relay, sent by PostgreSQL at COMMIT.
    IF FOUND THEN
        PERFORM pg_notify('autopost_events', '');
    END IF;
    RETURN NULL;
END;
$$;

-- Per row, for the rare INSERT straight into an event status.
CREATE FUNCTION autopost_event_schedule() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    ev_id uuid := gen_random_uuid();
BEGIN
    INSERT INTO events (id, tenant_id, type, schedule_id, account_id, post_id, body)
    SELECT ev_id, a.tenant_id, 'schedule.' || NEW.status, NEW.id, NEW.account_id, NEW.post_id,
           autopost_schedule_event_body(ev_id, a.tenant_id, a.platform, NEW)
      FROM social_accounts a WHERE a.id = NEW.account_id;
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
    EXECUTE format('ALTER FUNCTION autopost_events_schedules_updated() SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION autopost_event_schedule() SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION autopost_event_account() SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
REVOKE ALL ON FUNCTION autopost_events_schedules_updated(), autopost_event_schedule(),
    autopost_event_account() FROM PUBLIC;

-- Transition tables rule out a column list (UPDATE OF status): the
-- function's WHERE does that filtering. A row is normally inserted pending;
-- one inserted straight into an event status (a hand-written import) still
-- gets its event from the row-level INSERT trigger, whose WHEN keeps every
-- ordinary INSERT free of PL/pgSQL.
CREATE TRIGGER post_schedules_event_update
    AFTER UPDATE ON post_schedules
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION autopost_events_schedules_updated();
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
