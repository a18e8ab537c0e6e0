-- 0016_terminal_states: two terminal statuses that no platform call ever made
-- (issue 19, "Time and order").
--
--   skipped   a recurring post's occurrence that was already more than
--             scheduler.recurrence_grace in the past when it came due (after an
--             outage): it is recorded with a reason instead of firing late
--             together with every other missed occurrence.
--   expired   a schedule that could not start its platform call before its
--             deadline (the post's "deadline" or platforms.<p>.max_lateness).
--
-- Both are event statuses like cancelled: an application hears about them
-- through AUTOPOST_EVENTS and webhooks (schedule.skipped, schedule.expired).
-- The outbox functions of 0012 are replaced, not edited, so an applied
-- migration keeps the text it was applied with.

ALTER TABLE post_schedules DROP CONSTRAINT post_schedules_status_check;
ALTER TABLE post_schedules ADD CONSTRAINT post_schedules_status_check
    CHECK (status IN ('pending', 'queued', 'retrying', 'published', 'failed',
                      'unconfirmed', 'cancelled', 'skipped', 'expired'));

ALTER TABLE events DROP CONSTRAINT events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check
    CHECK (type IN ('schedule.published', 'schedule.failed', 'schedule.unconfirmed',
                    'schedule.cancelled', 'schedule.skipped', 'schedule.expired',
                    'account.reauth_required'));

CREATE OR REPLACE FUNCTION autopost_events_schedules_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO events (id, tenant_id, type, schedule_id, account_id, post_id, body)
    SELECT x.ev_id, x.tenant_id, 'schedule.' || (x.s).status, (x.s).id, (x.s).account_id,
           (x.s).post_id, autopost_schedule_event_body(x.ev_id, x.tenant_id, x.platform, x.s)
      FROM (SELECT gen_random_uuid() AS ev_id, a.tenant_id, a.platform,
                   ROW(n.*)::post_schedules AS s
              FROM new_rows n
              JOIN old_rows o ON o.id = n.id
              JOIN social_accounts a ON a.id = n.account_id
             WHERE n.status IS DISTINCT FROM o.status
               AND n.status IN ('published', 'failed', 'unconfirmed', 'cancelled',
                                'skipped', 'expired')) x;
    IF FOUND THEN
        PERFORM pg_notify('autopost_events', '');
    END IF;
    RETURN NULL;
END;
$$;

-- CREATE OR REPLACE keeps the function's owner and grants but resets every
-- other property: pin search_path again, as 0012 did.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION autopost_events_schedules_updated() SET search_path = %I, pg_temp',
                   current_schema());
END
$$;

-- The insert trigger's WHEN carries the list too.
DROP TRIGGER post_schedules_event_insert ON post_schedules;
CREATE TRIGGER post_schedules_event_insert
    AFTER INSERT ON post_schedules
    FOR EACH ROW
    WHEN (NEW.status IN ('published', 'failed', 'unconfirmed', 'cancelled', 'skipped', 'expired'))
    EXECUTE FUNCTION autopost_event_schedule();
