-- claim_fifo: due rows, urgent lane first, oldest first within a lane, no
-- admission (scheduler.max_queued_per_account 0 and no platform limits).
-- $1 batch size. Each lane is read from its own index in order and stops
-- after a batch (0023: post_schedules_urgent_due_idx, then
-- post_schedules_due_idx); the pick sorts at most two batches.
WITH due AS (
  (SELECT s.id, 0 AS lane, s.scheduled_at FROM post_schedules s
    WHERE s.status = 'pending' AND s.priority = 'urgent' AND s.scheduled_at <= now()
      AND (s.not_before IS NULL OR s.not_before <= now())
      AND NOT EXISTS (SELECT 1 FROM social_accounts a
                       WHERE a.id = s.account_id AND a.paused_until > now())
    ORDER BY s.scheduled_at LIMIT $1)
  UNION ALL
  (SELECT s.id, 1, s.scheduled_at FROM post_schedules s
    WHERE s.status = 'pending' AND s.priority <> 'urgent' AND s.scheduled_at <= now()
      AND (s.not_before IS NULL OR s.not_before <= now())
      AND NOT EXISTS (SELECT 1 FROM social_accounts a
                       WHERE a.id = s.account_id AND a.paused_until > now())
    ORDER BY s.scheduled_at LIMIT $1))
SELECT s.id, s.generation, s.post_id, s.account_id, a.platform, a.external_id,
       a.credentials, a.status, coalesce(v.e ->> 'text', p.text), coalesce(p.link, ''),
       coalesce(v.e -> 'media', p.media)::text,
       (extract(epoch FROM s.scheduled_at) * 1000)::bigint, s.priority = 'urgent',
       s.traceparent, coalesce((extract(epoch FROM s.deadline) * 1000)::bigint, 0),
       coalesce(p.thread::text, ''), coalesce(p.first_comment, '')
  FROM due d
  JOIN post_schedules s ON s.id = d.id
  JOIN posts p ON p.id = s.post_id
  JOIN social_accounts a ON a.id = s.account_id
  -- the schedule's variant (0027), text and media each over the post's
  CROSS JOIN LATERAL (SELECT autopost_post_variant(p.variants, s.account_id, a.platform) AS e) v
 WHERE s.status = 'pending'
 ORDER BY d.lane, d.scheduled_at
 LIMIT $1
   FOR UPDATE OF s SKIP LOCKED
