-- advisory_fail: a job the broker gave up on (MAX_DELIVERIES advisory) is a
-- failed result with the broker as its author, under the same forward-only
-- rule as the fold. $1 schedule id, $2 generation, $3 message,
-- $4 deliveries. Its row count says whether the row moved.
UPDATE post_schedules SET status = 'failed', error_class = 'retry',
error_code = 'max_deliveries', error_message = $3::text,
attempts = greatest(attempts, $4::int4), updated_at = now()
WHERE id = $1::uuid AND generation = $2::int4
AND status IN ('pending', 'queued', 'retrying')
