-- recurrence_due: the series the scheduler materialises next
-- (scheduler/recurrence.c). $1 how far ahead of now() a series must be
-- materialised before it is left alone (ms: the horizon minus a quarter, so
-- a series is revisited about four times per horizon, not on every tick),
-- $2 how many series per pass. FOR UPDATE SKIP LOCKED: two schedulers take
-- disjoint series, and a cancel (api/series.c) waits for the one holding
-- its post. Answers id, rrule, tz, start, materialised-until and the
-- database's now (epoch ms): the clock the claim compares scheduled_at with.
SELECT id, recur_rrule, recur_tz, recur_start,
       (extract(epoch FROM recur_materialised_until) * 1000)::bigint,
       (extract(epoch FROM now()) * 1000)::bigint
  FROM posts
 WHERE recur_rrule IS NOT NULL AND recur_cancelled_at IS NULL
   AND recur_materialised_until < now() + $1::bigint * interval '1 millisecond'
 ORDER BY recur_materialised_until
 LIMIT $2::integer
   FOR UPDATE SKIP LOCKED
