-- cancel: a person stops a schedule. $1 schedule id, $2 the states it may
-- be cancelled from (text[]: autopostctl takes pending and queued, because
-- it also stops the publishers through their attempt record; the console
-- only pending), $3 the actor written in the history. The UPDATE and its
-- history line are one statement, so a cancel is never recorded without
-- happening or the other way round. Answers id, generation: one row when
-- the schedule was cancelled, none when it is missing or in another state.
WITH u AS (UPDATE post_schedules SET status = 'cancelled',
           error_message = 'cancelled by operator', updated_at = now()
           WHERE id = $1 AND status = ANY ($2::text[])
           RETURNING id, generation, attempts),
h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_message,
                                     actor, finished_at)
      SELECT id, generation, attempts, 'cancelled', 'cancelled by operator', $3, now() FROM u
      ON CONFLICT DO NOTHING)
SELECT id, generation FROM u
