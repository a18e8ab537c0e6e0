-- occurrences_skip_stale: no catch-up burst (README "Recurring posts"). A
-- materialised occurrence still pending more than scheduler.recurrence_grace
-- after its time (the schedulers were down, or it waited that long for a
-- slot) ends skipped with its reason instead of going out late together
-- with every other missed one. Only rows never attempted: a pending row
-- with attempts was handed back for a retry and is the claim's.
-- $1 the grace (ms), $2 how many rows per pass (the rest next tick).
-- SKIP LOCKED: a row a claim holds is the claim's. Answers how many.
WITH s AS (SELECT id FROM post_schedules
            WHERE status = 'pending' AND occurrence_at IS NOT NULL AND attempts = 0
              AND scheduled_at < now() - $1::bigint * interval '1 millisecond'
            ORDER BY scheduled_at
            LIMIT $2::integer
              FOR UPDATE SKIP LOCKED),
u AS (UPDATE post_schedules p
         SET status = 'skipped', error_code = 'occurrence_missed',
             error_message = format('occurrence due at %s was still waiting %s later '
                                    '(longer than scheduler.recurrence_grace): skipped '
                                    'instead of going out late',
                                    to_char(p.scheduled_at AT TIME ZONE 'UTC',
                                            'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                    date_trunc('second', now() - p.scheduled_at)),
             updated_at = now()
        FROM s WHERE p.id = s.id AND p.status = 'pending'
      RETURNING p.id, p.generation, p.attempts, p.error_message),
h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_code,
                                     error_message, actor, finished_at)
      SELECT id, generation, attempts, 'skipped', 'occurrence_missed', error_message,
             'scheduler', now() FROM u
      ON CONFLICT DO NOTHING)
SELECT count(*) FROM u
