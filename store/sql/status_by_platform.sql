-- status_by_platform: status_totals per platform, with how long the oldest
-- due or queued job has waited (ms): the console's platform table, one scan
-- of post_schedules. No parameters; the column names are its JSON keys.
SELECT a.platform,
       count(*) FILTER (WHERE s.status = 'pending' AND s.scheduled_at <= now()) AS due_now,
       count(*) FILTER (WHERE s.status = 'pending') AS pending,
       count(*) FILTER (WHERE s.status = 'queued') AS queued,
       count(*) FILTER (WHERE s.status = 'retrying') AS retrying,
       count(*) FILTER (WHERE s.status = 'published') AS published,
       count(*) FILTER (WHERE s.status = 'failed') AS failed,
       count(*) FILTER (WHERE s.status = 'unconfirmed') AS unconfirmed,
       count(*) FILTER (WHERE s.status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE s.status = 'published'
                          AND s.published_at > now() - interval '1 minute') AS published_1m,
       count(*) FILTER (WHERE s.status IN ('failed', 'unconfirmed')
                          AND s.updated_at > now() - interval '1 minute') AS failed_1m,
       (extract(epoch FROM now() - min(CASE
          WHEN s.status IN ('queued', 'retrying') THEN coalesce(s.queued_at, s.scheduled_at)
          WHEN s.status = 'pending' AND s.scheduled_at <= now() THEN s.scheduled_at END))
          * 1000)::bigint AS oldest_waiting_ms
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 GROUP BY a.platform ORDER BY a.platform
