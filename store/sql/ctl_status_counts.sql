-- ctl_status_counts: one row per (platform, status) with the extra figures
-- of `autopostctl status` folded in: a single scan of post_schedules,
-- whatever its size. "Waiting" is a job the pipeline owes work to: due but
-- unclaimed, or queued/retrying on the bus. No parameters. Answers
-- platform, status, count, due now, oldest waiting (epoch ms), published
-- and failed in the last minute, the database's now (epoch ms).
SELECT a.platform, s.status, count(*),
       count(*) FILTER (WHERE s.status = 'pending' AND s.scheduled_at <= now()
                          AND (s.not_before IS NULL OR s.not_before <= now())),
       (extract(epoch FROM min(CASE
          WHEN s.status IN ('queued', 'retrying') THEN coalesce(s.queued_at, s.scheduled_at)
          WHEN s.status = 'pending' AND s.scheduled_at <= now()
           AND (s.not_before IS NULL OR s.not_before <= now()) THEN s.scheduled_at END))
          * 1000)::bigint,
       count(*) FILTER (WHERE s.status = 'published'
                          AND s.published_at > now() - interval '1 minute'),
       count(*) FILTER (WHERE s.status IN ('failed', 'unconfirmed')
                          AND s.updated_at > now() - interval '1 minute'),
       (extract(epoch from now()) * 1000)::bigint
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 GROUP BY a.platform, s.status ORDER BY a.platform
