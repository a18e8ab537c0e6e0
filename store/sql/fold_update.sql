-- fold_update: the fold rules of dispatcher/fold.h, as one statement. $1..$13
-- parallel arrays, one element per (schedule, generation): ids,
-- generations, outcomes, attempts, external post ids, external urls, error
-- classes, codes, messages, finished (epoch ms), retry_after (ms, deferred
-- only), batch_holder (an earlier row of the batch that holds the same
-- post), part ids (a thread's and first comment's ids after the post's,
-- comma-joined; NULL: none, 0026). A published row keeps its error code and
-- message only for first_comment_failed: the post is live, its comment not
-- (README "Threads and first comments"). The batch is collapsed to one row per (schedule, generation) in C
-- first, because UPDATE ... FROM picks an arbitrary source row when several
-- match.
--
-- The final SELECT reports every input row with the status it found (idx,
-- applied, old status, row generation, new status: fold.h AP_FOLD_COL_*):
-- the CTE and the SELECT share one snapshot, so old_status is the value
-- before this UPDATE, and NULL means the schedule does not exist; u.status
-- (RETURNING) is what it wrote, the value the terminal-transition counter
-- counts. A retrying result already recorded (same attempt, row still
-- retrying) is not rewritten, so redeliveries leave updated_at alone. A
-- deferred result moves the row back to pending under the next generation
-- (a fresh Nats-Msg-Id and attempt record) with not_before set, attempts
-- untouched; like the other outcomes it applies only to the row's current
-- generation and only while the row is open, so a late or repeated one
-- changes nothing. not_before is cleared by every outcome but retrying.
--
-- Both reads of post_schedules go through its primary key, whatever the
-- planner thinks of a 500-row batch against the table: "s.id = ANY($1)"
-- lets the UPDATE find its rows by index, and the LATERAL ... OFFSET 0
-- (which the planner may not flatten into a join) looks each row up on its
-- own. Left to itself the planner hashed the whole table twice per batch, a
-- cost that grows with every schedule ever made (bench/README.md).
--
-- "One post, one schedule" comes first (h, r): a published result whose
-- post another published schedule of the account already holds (or an
-- earlier row of this batch: batch_holder, found in C) becomes failed
-- duplicate naming that schedule, with a history line of the dispatcher's
-- (held). Two schedules with the same text on one account can both claim
-- one post: the second is refused as a duplicate and its read-back finds
-- the first one's post, made after it was queued
-- (publishers/engine/slots.c, settle_duplicate). The look-up is the index
-- post_schedules_account_post_idx (migration 0008), by both of its columns:
-- the row's account comes first (LATERAL ... OFFSET 0), so the account is a
-- value when the holder is looked up. Joined in the same subquery, the
-- planner with fresh statistics matched external_post_id alone, walking the
-- whole index once per result; and h is MATERIALIZED because r reads
-- holder eight times, which inlined would be eight look-ups per result
-- (bench/README.md 2026-12-07, second entry). Rows of two batches
-- committed at the same moment by two dispatcher replicas do not see each
-- other; a unique index would turn that race into a failed batch instead.
WITH b AS (
SELECT * FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::int4[], $5::text[],
$6::text[], $7::text[], $8::text[], $9::text[], $10::int8[], $11::int8[], $12::uuid[],
$13::text[])
WITH ORDINALITY AS t(id, generation, outcome, attempt, external_post_id, external_url,
error_class, error_code, error_message, finished_ms, retry_ms, batch_holder, part_ids, idx)),
h AS MATERIALIZED (
SELECT b.*, CASE WHEN b.outcome = 'published' AND b.external_post_id IS NOT NULL
THEN coalesce(b.batch_holder, (SELECT o.id FROM post_schedules o
WHERE o.account_id = me.account_id AND o.external_post_id = b.external_post_id
AND o.id <> b.id AND o.status = 'published' LIMIT 1)) END AS holder
FROM b LEFT JOIN LATERAL (SELECT account_id FROM post_schedules WHERE id = b.id
AND b.outcome = 'published' AND b.external_post_id IS NOT NULL OFFSET 0) me ON true),
r AS (
SELECT id, generation, CASE WHEN holder IS NULL THEN outcome ELSE 'failed' END AS outcome,
attempt, CASE WHEN holder IS NULL THEN external_post_id END AS external_post_id,
CASE WHEN holder IS NULL THEN external_url END AS external_url,
CASE WHEN holder IS NULL THEN error_class ELSE 'duplicate' END AS error_class,
CASE WHEN holder IS NULL THEN error_code ELSE 'post_held' END AS error_code,
CASE WHEN holder IS NULL THEN error_message ELSE format('the platform''s post %s is already the outcome of schedule %s of this account; one post counts for one schedule',
external_post_id, holder) END AS error_message,
finished_ms, retry_ms, holder, part_ids, idx FROM h),
u AS (
UPDATE post_schedules s SET
status = CASE WHEN r.outcome = 'deferred' THEN 'pending' ELSE r.outcome END,
generation = s.generation + CASE WHEN r.outcome = 'deferred' THEN 1 ELSE 0 END,
not_before = CASE r.outcome WHEN 'deferred' THEN coalesce('epoch'::timestamptz + r.finished_ms * interval '1 millisecond', now())
+ coalesce(r.retry_ms, 0) * interval '1 millisecond'
WHEN 'retrying' THEN s.not_before END,
attempts = CASE WHEN r.outcome = 'deferred' THEN s.attempts
ELSE greatest(s.attempts, r.attempt) END,
external_post_id = coalesce(r.external_post_id, s.external_post_id),
external_url = coalesce(r.external_url, s.external_url),
published_at = CASE WHEN r.outcome = 'published' THEN coalesce('epoch'::timestamptz + r.finished_ms * interval '1 millisecond', now())
ELSE s.published_at END,
error_class = CASE WHEN r.outcome = 'published' THEN NULL ELSE r.error_class END,
error_code = CASE WHEN r.outcome = 'published' AND r.error_code IS DISTINCT FROM 'first_comment_failed'
THEN NULL ELSE r.error_code END,
error_message = CASE WHEN r.outcome = 'published' AND r.error_code IS DISTINCT FROM 'first_comment_failed'
THEN NULL ELSE r.error_message END,
part_external_ids = coalesce(string_to_array(r.part_ids, ','), s.part_external_ids),
updated_at = now()
FROM r
WHERE s.id = ANY($1::uuid[]) AND s.id = r.id AND s.generation = r.generation
AND CASE r.outcome
WHEN 'published' THEN s.status <> 'published'
WHEN 'retrying' THEN (s.status IN ('pending', 'queued') AND r.attempt >= s.attempts)
OR (s.status = 'retrying' AND r.attempt > s.attempts)
ELSE s.status IN ('pending', 'queued', 'retrying') END
RETURNING r.idx, s.status),
held AS (
INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_class,
error_code, error_message, actor, finished_at)
SELECT r.id, r.generation, r.attempt, 'failed', r.error_class, r.error_code,
r.error_message, 'dispatcher', now() FROM r JOIN u ON u.idx = r.idx
WHERE r.holder IS NOT NULL
ON CONFLICT (schedule_id, generation, attempt, event) DO NOTHING)
SELECT r.idx, u.idx IS NOT NULL, s.status, s.generation, u.status
FROM r LEFT JOIN u ON u.idx = r.idx
LEFT JOIN LATERAL (SELECT status, generation FROM post_schedules WHERE id = r.id OFFSET 0)
s ON true
ORDER BY r.idx
