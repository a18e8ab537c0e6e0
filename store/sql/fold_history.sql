-- fold_history: every result of a dispatcher batch becomes a history line
-- (fold.h). Twelve parallel arrays, one element per result: $1 schedule
-- ids, $2 generations, $3 attempts, $4 events (the outcome), $5 error
-- classes, $6 codes, $7 messages, $8 external post ids, $9 HTTP statuses,
-- $10 actors (publisher instance), $11/$12 started/finished (epoch ms).
-- Duplicates included: ON CONFLICT makes a redelivered result a no-op, and
-- the EXISTS keeps a result for a deleted or unknown schedule from failing
-- the batch on the foreign key. ORDER BY gives the lines ids in stream
-- order, the order a person reads them in.
INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_class,
error_code, error_message, external_post_id, http_status, actor, started_at, finished_at)
SELECT r.schedule_id, r.generation, r.attempt, r.event, r.error_class, r.error_code,
r.error_message, r.external_post_id, r.http_status, r.actor,
'epoch'::timestamptz + r.started_ms * interval '1 millisecond',
'epoch'::timestamptz + r.finished_ms * interval '1 millisecond'
FROM unnest($1::uuid[], $2::int4[], $3::int4[], $4::text[], $5::text[], $6::text[],
$7::text[], $8::text[], $9::int4[], $10::text[], $11::int8[], $12::int8[])
WITH ORDINALITY AS r(schedule_id, generation, attempt, event, error_class, error_code,
error_message, external_post_id, http_status, actor, started_ms, finished_ms, ord)
WHERE EXISTS (SELECT 1 FROM post_schedules s WHERE s.id = r.schedule_id)
ORDER BY r.ord
ON CONFLICT (schedule_id, generation, attempt, event) DO NOTHING
