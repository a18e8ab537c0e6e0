-- expire_due: no late burst after an outage (README "Deadlines"). A pending
-- row whose effective deadline has passed (its own deadline, or
-- scheduled_at + platforms.<p>.max_lateness, whichever is earlier) can no
-- longer start its platform call in time: it ends expired with its reason
-- instead of being claimed, whether it waited for a scheduler, a slot, a
-- paused account or a deferral. The scheduler runs it at the start of every
-- tick, in the claim's transaction. No platform call was made for a pending
-- row of this generation (a deferred one was refused before the platform
-- accepted anything), so expiring it cannot hide a live post.
-- $1 platforms (text[]) and $2 their max_lateness in ms (int8[], 0 = none),
-- parallel; $3 how many rows per pass (the rest next tick).
-- The candidate scans stop early: rows with their own deadline through
-- post_schedules_deadline_idx (0022); per platform with a max_lateness (the
-- LATERAL runs once per such platform, never without one), its rows too
-- late oldest first through the due index, stepping over other platforms'
-- rows older than that (the price of keeping platform off post_schedules).
-- SKIP LOCKED: a row a claim holds is the claim's (the claim itself refuses
-- one past its deadline, mark_expired). The candidates are looked up by
-- primary key as an array: as "IN (SELECT ...)" the planner, with
-- statistics, hashed them against a scan of every pending row, each tick.
-- Answers how many rows it expired.
WITH lim AS (
  SELECT platform, late_ms FROM unnest($1::text[], $2::int8[]) AS t(platform, late_ms)
   WHERE late_ms > 0),
c AS (
  (SELECT s.id FROM post_schedules s
    WHERE s.status = 'pending' AND s.deadline IS NOT NULL AND s.deadline < now()
    ORDER BY s.deadline LIMIT $3::integer)
  UNION
  (SELECT x.id FROM lim l CROSS JOIN LATERAL (
     SELECT s.id FROM post_schedules s
       JOIN social_accounts a ON a.id = s.account_id
      WHERE s.status = 'pending' AND a.platform = l.platform
        AND s.scheduled_at < now() - l.late_ms * interval '1 millisecond'
      ORDER BY s.scheduled_at LIMIT $3::integer) x)),
s AS (
  SELECT p.id, least(p.deadline, p.scheduled_at + l.late_ms * interval '1 millisecond') AS due_by
    FROM post_schedules p
    JOIN social_accounts a ON a.id = p.account_id
    LEFT JOIN lim l ON l.platform = a.platform
   WHERE p.id = ANY (ARRAY(SELECT id FROM c)) AND p.status = 'pending'
     FOR UPDATE OF p SKIP LOCKED),
u AS (
  UPDATE post_schedules p
     SET status = 'expired', error_code = 'deadline_passed',
         error_message = format('deadline %s passed %s before the scheduler could start the '
                                'platform call (the post''s deadline or '
                                'platforms.<p>.max_lateness); expired instead of going out late',
                                to_char(s.due_by AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                date_trunc('second', now() - s.due_by)),
         updated_at = now()
    FROM s WHERE p.id = s.id AND p.status = 'pending' AND s.due_by < now()
  RETURNING p.id, p.generation, p.attempts, p.error_message),
h AS (
  INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_code,
                                 error_message, actor, finished_at)
  SELECT id, generation, attempts, 'expired', 'deadline_passed', error_message, 'scheduler', now()
    FROM u
  ON CONFLICT DO NOTHING)
SELECT count(*) FROM u
