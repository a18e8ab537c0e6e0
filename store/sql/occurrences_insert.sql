-- occurrences_insert: a series' occurrences become schedule rows, one per
-- account and instant (scheduler/recurrence.c, in the transaction that
-- holds the series' posts row). $1 post id, $2 its accounts (uuid[]; an
-- account deleted since is left out), $3 the instants (epoch ms, bigint[]),
-- $4 each instant's status (text[]: pending, or skipped for an occurrence
-- already missed), $5 the reason a skipped row carries. ON CONFLICT DO
-- NOTHING on post_schedules_occurrence_idx (migration 0017): an occurrence
-- another scheduler, or this one before a crash, already made is not made
-- again. Skipped rows get their history line (and, through 0016's insert
-- trigger, their schedule.skipped event). Answers the rows made: pending,
-- skipped.
WITH t AS (SELECT 'epoch'::timestamptz + x.ms * interval '1 millisecond' AS at, x.st
             FROM unnest($3::bigint[], $4::text[]) AS x(ms, st)),
ins AS (INSERT INTO post_schedules (post_id, account_id, scheduled_at, occurrence_at, status,
                                    error_code, error_message)
        SELECT $1, a.id, t.at, t.at, t.st,
               CASE WHEN t.st = 'skipped' THEN 'occurrence_missed' END,
               CASE WHEN t.st = 'skipped' THEN $5 END
          FROM unnest($2::uuid[]) AS u(id) JOIN social_accounts a ON a.id = u.id, t
        ON CONFLICT (post_id, account_id, occurrence_at) WHERE occurrence_at IS NOT NULL
        DO NOTHING
        RETURNING id, generation, status),
h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_code,
                                     error_message, actor, finished_at)
      SELECT id, generation, 0, 'skipped', 'occurrence_missed', $5, 'scheduler', now()
        FROM ins WHERE status = 'skipped'
      ON CONFLICT DO NOTHING)
SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'skipped')
  FROM ins
