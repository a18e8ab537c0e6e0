-- advisory_history: the 'gave_up' history line of advisory_fail, in the same
-- transaction. $1..$4 as advisory_fail, $5 actor.
INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_class,
error_code, error_message, actor, finished_at)
SELECT $1::uuid, $2::int4, $4::int4, 'gave_up', 'retry', 'max_deliveries', $3::text,
$5::text, now()
WHERE EXISTS (SELECT 1 FROM post_schedules WHERE id = $1::uuid)
ON CONFLICT (schedule_id, generation, attempt, event) DO NOTHING
