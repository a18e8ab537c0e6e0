-- 0017_recurrence: recurring posts (issue 19, "Recurring posts").
--
-- A series is a posts row with a rule: recur_rrule (RFC 5545 RRULE value),
-- recur_tz (IANA zone), recur_start (local wall time in that zone, as the
-- client wrote it) and the accounts it goes to (recur_account_ids, in
-- request order). common/ap_recur.h expands it; nothing here does.
--
-- Occurrences become ordinary post_schedules rows a horizon ahead
-- (scheduler/recurrence.c), each with occurrence_at, the instant the rule
-- gave. The UNIQUE index on (post_id, account_id, occurrence_at) is what
-- makes materialising idempotent: two schedulers, or one that crashed after
-- inserting and before recording how far it got, insert the same rows with
-- ON CONFLICT DO NOTHING and the second insert makes nothing. Rows of
-- one-off posts have occurrence_at NULL and are not in the index.
--
-- recur_materialised_until: every occurrence up to this instant has its
-- rows (or was deliberately left out, see README "Recurring posts"); the
-- API sets it to the creation time, so a start in the past owes nothing
-- before the post existed, and 'infinity' when the rule has ended.
-- recur_cancelled_at: the series was cancelled (POST /v1/posts/{id}/cancel);
-- nothing more is materialised.
--
-- Grants (0009/0011 style, only what each role writes):
--   autopost_scheduler  no INSERT on post_schedules: it may only run
--                       autopost_occurrences_insert (below), which makes
--                       occurrence rows of a live series for that series'
--                       own accounts and nothing else; UPDATE of posts only
--                       recur_materialised_until
--   autopost_api        cancel a series (UPDATE of recur_cancelled_at only);
--                       edit a series' text only through
--                       autopost_series_set_text (below): it still cannot
--                       change a one-off post's text

ALTER TABLE posts
    ADD COLUMN recur_rrule text CHECK (length(recur_rrule) BETWEEN 1 AND 1000),
    ADD COLUMN recur_tz text CHECK (length(recur_tz) BETWEEN 1 AND 64),
    ADD COLUMN recur_start text CHECK (recur_start ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$'),
    ADD COLUMN recur_account_ids uuid[],
    ADD COLUMN recur_materialised_until timestamptz,
    ADD COLUMN recur_cancelled_at timestamptz,
    ADD CONSTRAINT posts_recurrence_whole CHECK (
        (recur_rrule IS NULL) = (recur_tz IS NULL)
        AND (recur_rrule IS NULL) = (recur_start IS NULL)
        AND (recur_rrule IS NULL) = (recur_account_ids IS NULL)
        AND (recur_rrule IS NULL) = (recur_materialised_until IS NULL));

-- The materialiser's scan: live series, least materialised first.
CREATE INDEX posts_recurrence_due_idx ON posts (recur_materialised_until)
    WHERE recur_rrule IS NOT NULL AND recur_cancelled_at IS NULL;

ALTER TABLE post_schedules ADD COLUMN occurrence_at timestamptz;

CREATE UNIQUE INDEX post_schedules_occurrence_idx
    ON post_schedules (post_id, account_id, occurrence_at)
    WHERE occurrence_at IS NOT NULL;

-- The materialiser's insert (store/sql/occurrences_insert.sql calls it): a
-- live series' occurrences become rows, one per account of the series, ON
-- CONFLICT DO NOTHING on the index above. Instants are epoch ms, each with
-- its status (pending, or skipped for one already missed, with p_reason and
-- a history line; 0016's insert trigger writes its schedule.skipped event).
-- SECURITY DEFINER with search_path pinned (as 0012's functions): the
-- scheduler cannot insert a schedule for any other post or account, nor in
-- any other state. Answers the rows made, pending and skipped.
CREATE FUNCTION autopost_occurrences_insert(p_post uuid, p_at bigint[], p_status text[],
                                            p_reason text)
    RETURNS TABLE (made_pending bigint, made_skipped bigint)
    LANGUAGE sql SECURITY DEFINER AS $$
WITH s AS (SELECT id, recur_account_ids FROM posts
            WHERE id = p_post AND recur_rrule IS NOT NULL AND recur_cancelled_at IS NULL),
t AS (SELECT 'epoch'::timestamptz + x.ms * interval '1 millisecond' AS at, x.st
        FROM unnest(p_at, p_status) AS x(ms, st)
       WHERE x.ms IS NOT NULL AND x.st IN ('pending', 'skipped')),
ins AS (INSERT INTO post_schedules (post_id, account_id, scheduled_at, occurrence_at, status,
                                    error_code, error_message)
        SELECT s.id, a.id, t.at, t.at, t.st,
               CASE WHEN t.st = 'skipped' THEN 'occurrence_missed' END,
               CASE WHEN t.st = 'skipped' THEN p_reason END
          FROM s CROSS JOIN LATERAL unnest(s.recur_account_ids) AS u(id)
          JOIN social_accounts a ON a.id = u.id
         CROSS JOIN t
        ON CONFLICT (post_id, account_id, occurrence_at) WHERE occurrence_at IS NOT NULL
        DO NOTHING
        RETURNING id, generation, status),
h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_code,
                                     error_message, actor, finished_at)
      SELECT id, generation, 0, 'skipped', 'occurrence_missed', p_reason, 'scheduler', now()
        FROM ins WHERE status = 'skipped'
      ON CONFLICT DO NOTHING)
SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'skipped')
  FROM ins
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION autopost_occurrences_insert(uuid, bigint[], text[], text) '
                   'SET search_path = %I, pg_temp', current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION autopost_occurrences_insert(uuid, bigint[], text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION autopost_occurrences_insert(uuid, bigint[], text[], text)
    TO autopost_scheduler;
GRANT UPDATE (recur_materialised_until) ON posts TO autopost_scheduler;
GRANT UPDATE (recur_cancelled_at) ON posts TO autopost_api;

-- PATCH /v1/posts/{id} {"text"} (api/series.c): the text of the tenant's
-- live series, nothing else. True when it changed a row.
CREATE FUNCTION autopost_series_set_text(p_post uuid, p_tenant uuid, p_text text)
    RETURNS boolean
    LANGUAGE sql SECURITY DEFINER AS $$
WITH u AS (UPDATE posts SET text = p_text
            WHERE id = p_post AND tenant_id = p_tenant
              AND recur_rrule IS NOT NULL AND recur_cancelled_at IS NULL
           RETURNING 1)
SELECT EXISTS (SELECT 1 FROM u)
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION autopost_series_set_text(uuid, uuid, text) '
                   'SET search_path = %I, pg_temp', current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION autopost_series_set_text(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION autopost_series_set_text(uuid, uuid, text) TO autopost_api;

-- The no-burst pass (store/sql/occurrences_skip_stale.sql) looks only at
-- pending occurrences, not at a backlog of one-off posts waiting for slots.
CREATE INDEX post_schedules_occurrence_due_idx ON post_schedules (scheduled_at)
    WHERE status = 'pending' AND occurrence_at IS NOT NULL;
