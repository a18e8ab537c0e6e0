-- status_totals: every schedule counted by status, what is due now and the
-- last minute's outcomes: the console's overview. No parameters. Times are
-- RFC 3339 UTC text, like every time the console shows; the column names
-- are its JSON keys.
SELECT to_char((now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, count(*) AS total,
       count(*) FILTER (WHERE status = 'pending' AND scheduled_at <= now()) AS due_now,
       count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'queued') AS queued,
       count(*) FILTER (WHERE status = 'retrying') AS retrying,
       count(*) FILTER (WHERE status = 'published') AS published,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'unconfirmed') AS unconfirmed,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE status = 'published'
                          AND published_at > now() - interval '1 minute') AS published_1m,
       count(*) FILTER (WHERE status IN ('failed', 'unconfirmed')
                          AND updated_at > now() - interval '1 minute') AS failed_1m
  FROM post_schedules
