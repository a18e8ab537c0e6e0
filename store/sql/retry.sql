-- retry: sends schedules again. $1 their ids (uuid[]), $2 the actor written
-- in the history (autopostctl, autopost-console). Used by `autopostctl
-- retry` (one id, or the ids retry_candidates locked in the same
-- transaction) and by the console.
--
-- A retry is a new generation: it gives the job a new Nats-Msg-Id and KV
-- key, so the old attempt's dedup entry and record cannot swallow it.
-- Attempts and errors are reset and the row goes back to pending (due now,
-- or at its time if that is still ahead); the history line
-- "retry_requested" is written in the same statement, so a retry is never
-- recorded without happening or the other way round. Only failed,
-- unconfirmed or cancelled rows move: the UPDATE repeats those states as the
-- guard against a row that moved between the lock and the UPDATE. A row
-- whose thread or first comment went out in part (its post, or some of its
-- parts, are live: external_post_id or part_external_ids, 0026) does not
-- move: a new generation starts from the post and would post those again
-- (README "Threads and first comments"). Answers id, generation,
-- old_status per row retried, by id.
WITH c AS (SELECT id, status AS old_status FROM post_schedules
            WHERE id = ANY ($1::uuid[]) ORDER BY id FOR UPDATE),
u AS (UPDATE post_schedules p SET status = 'pending', generation = p.generation + 1,
             attempts = 0, error_class = NULL, error_code = NULL, error_message = NULL,
             external_post_id = NULL, external_url = NULL, queued_at = NULL,
             published_at = NULL, scheduled_at = least(p.scheduled_at, now()),
             updated_at = now()
        FROM c WHERE p.id = c.id AND p.status IN ('failed', 'unconfirmed', 'cancelled')
         AND p.part_external_ids IS NULL
         AND NOT (p.external_post_id IS NOT NULL AND EXISTS (
                  SELECT 1 FROM posts q WHERE q.id = p.post_id
                     AND (q.thread IS NOT NULL OR q.first_comment IS NOT NULL)))
        RETURNING p.id, p.generation, c.old_status),
h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, actor, finished_at)
      SELECT u.id, u.generation, 0, 'retry_requested', $2, now() FROM u)
SELECT id, generation, old_status FROM u ORDER BY id
