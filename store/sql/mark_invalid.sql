-- mark_invalid: a claimed row the scheduler refuses (bad input, an account
-- that cannot post) fails with its reason, class invalid, in the claim's
-- transaction. $1 schedule id, $2 error code, $3 the reason.
WITH u AS (UPDATE post_schedules SET status = 'failed', error_class = 'invalid',
           error_code = $2, error_message = $3, updated_at = now()
           WHERE id = $1 AND status = 'pending'
           RETURNING id, generation)
INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_class, error_code,
                               error_message, actor, finished_at)
SELECT id, generation, 0, 'failed', 'invalid', $2, $3, 'scheduler', now() FROM u
ON CONFLICT DO NOTHING
