-- claim_fifo: oldest due rows first, no admission
-- (scheduler.max_queued_per_account 0 and no platform limits). $1 batch size.
SELECT s.id, s.generation, s.post_id, s.account_id, a.platform, a.external_id,
       a.credentials, a.status, p.text, coalesce(p.link, ''), p.media::text,
       (extract(epoch FROM s.scheduled_at) * 1000)::bigint,
       coalesce((extract(epoch FROM s.deadline) * 1000)::bigint, 0)
  FROM post_schedules s
  JOIN posts p ON p.id = s.post_id
  JOIN social_accounts a ON a.id = s.account_id
 WHERE s.status = 'pending' AND s.scheduled_at <= now()
   AND (s.not_before IS NULL OR s.not_before <= now())
   AND (a.paused_until IS NULL OR a.paused_until <= now())
 ORDER BY s.scheduled_at
 LIMIT $1
   FOR UPDATE OF s SKIP LOCKED
