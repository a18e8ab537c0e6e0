-- mark_queued: the scheduler's jobs that JetStream acknowledged become
-- queued, in the claim's transaction (scheduler.c). $1 their ids (uuid[]).
-- One statement: the history lines come from the UPDATE's own RETURNING
-- instead of a second lookup of every row; a row that is no longer pending
-- is left alone.
WITH u AS (UPDATE post_schedules SET status = 'queued', queued_at = now(),
           updated_at = now() WHERE id = ANY($1::uuid[]) AND status = 'pending'
           RETURNING id, generation)
INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, actor, started_at)
SELECT id, generation, 0, 'queued', 'scheduler', now() FROM u
ON CONFLICT DO NOTHING
