-- post_cancel: POST /v1/posts/{id}/cancel (api/series.c) stops a post's
-- schedules that are still pending: a series' materialised occurrences, or
-- a one-off post's. Queued ones are on the bus already and keep going
-- (cancel them one by one as POST /v1/schedules/{id}/cancel explains).
-- $1 post id (the caller checked the key's tenant owns it and holds its
-- posts row), $2 the actor written in the history. Answers the cancelled
-- schedules' ids.
WITH u AS (UPDATE post_schedules SET status = 'cancelled',
           error_message = 'series cancelled', updated_at = now()
           WHERE post_id = $1 AND status = 'pending'
           RETURNING id, generation, attempts),
h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_message,
                                     actor, finished_at)
      SELECT id, generation, attempts, 'cancelled', 'series cancelled', $2, now() FROM u
      ON CONFLICT DO NOTHING)
SELECT id FROM u
