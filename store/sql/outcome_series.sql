-- outcome_series: throughput and lateness over time, for the console's
-- chart. The window is the last $1 minutes, cut to the span of the events
-- in it and into about 60 buckets (never under 100 ms): a ten-second test
-- run and a busy day both draw as a curve. Lateness is published_at -
-- scheduled_at: when our side recorded the post, which includes the
-- dispatcher's batch.
WITH ev AS (
  SELECT published_at AS t, 'published' AS kind,
         extract(epoch FROM published_at - scheduled_at) * 1000 AS late_ms
    FROM post_schedules WHERE status = 'published'
     AND published_at > now() - $1::int * interval '1 minute'
  UNION ALL
  SELECT updated_at, 'failed', NULL FROM post_schedules
   WHERE status IN ('failed', 'unconfirmed')
     AND updated_at > now() - $1::int * interval '1 minute'),
w AS (SELECT min(t) AS t0,
             greatest(100, ceil(extract(epoch FROM max(t) - min(t)) * 1000 / 60))::bigint AS step_ms
        FROM ev),
b AS (SELECT floor(extract(epoch FROM ev.t - w.t0) * 1000 / w.step_ms)::bigint AS i,
             ev.kind, ev.late_ms FROM ev, w)
SELECT to_char((w.t0 + b.i * w.step_ms * interval '1 millisecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t,
       count(*) FILTER (WHERE kind = 'published') AS published,
       count(*) FILTER (WHERE kind = 'failed') AS failed,
       (percentile_disc(0.5) WITHIN GROUP (ORDER BY late_ms))::bigint AS late_p50_ms,
       (percentile_disc(0.95) WITHIN GROUP (ORDER BY late_ms))::bigint AS late_p95_ms,
       max(late_ms)::bigint AS late_max_ms, max(w.step_ms) AS step_ms
  FROM b, w GROUP BY b.i, w.t0, w.step_ms ORDER BY b.i
