-- mark_expired: a claimed row already past its effective deadline (README
-- "Deadlines": the post's deadline or scheduled_at + platforms.<p>.max_lateness,
-- common/ap_deadline.h) ends expired instead of being published, in the
-- claim's transaction; the outbox trigger of 0016 writes schedule.expired.
-- $1 schedule id, $2 the reason.
WITH u AS (UPDATE post_schedules SET status = 'expired', error_code = 'deadline_passed',
           error_message = $2, updated_at = now()
           WHERE id = $1 AND status = 'pending'
           RETURNING id, generation, attempts)
INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_code,
                               error_message, actor, finished_at)
SELECT id, generation, attempts, 'expired', 'deadline_passed', $2, 'scheduler', now() FROM u
ON CONFLICT DO NOTHING
