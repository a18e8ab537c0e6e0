-- claim_fair: the scheduler's default claim (scheduler/claim.h explains it:
-- admission per tenant and per account, rate windows, posts made elsewhere,
-- the probe of a cold account, round-robin slots over tenants and then over
-- each tenant's accounts, the crowded window). Parameters: $1 batch size,
-- $2 scheduler.max_queued_per_account, $3..$7 per-platform limits as
-- parallel arrays (platform, account_limit, account_window ms, app_limit,
-- app_window ms; 0 = no limit), $8 which platforms report their own count,
-- $9 scheduler.max_queued_per_tenant.
-- Lanes (0023, README "Urgent lane"): lane 0 is urgent, 1 normal. The window
-- reads each lane from its own index; every ranking below orders by lane
-- first, so urgent rows take an account's, a tenant's and a platform's free
-- slots before normal ones, and the round-robin holds inside each lane.
-- An account's free slots ("least(...)") and its stale probe
-- ("l.probe AND NOT ...") appear in several CTEs; keep them identical.
WITH lim AS (
  SELECT platform, nullif(acc_n, 0) AS acc_n, acc_ms, nullif(app_n, 0) AS app_n, app_ms,
         probe AND acc_n > 0 AS probe
    FROM unnest($3::text[], $4::int[], $5::int8[], $6::int[], $7::int8[], $8::bool[])
      AS t(platform, acc_n, acc_ms, app_n, app_ms, probe)),
busy AS (
  SELECT account_id, count(*) AS n FROM post_schedules
   WHERE status IN ('queued', 'retrying') GROUP BY account_id),
-- Accounts are read by key here and below (LATERAL ... OFFSET 0, see wacct):
-- joined as a table, every claim in a burst read all accounts.
tbusy AS (
  SELECT a.tenant_id, sum(b.n)::int8 AS n
    FROM busy b CROSS JOIN LATERAL (SELECT tenant_id FROM social_accounts
                                     WHERE id = b.account_id OFFSET 0) a
   GROUP BY a.tenant_id),
-- An account's use of its rate window, counted for the accounts with due
-- rows on a rate-limited platform, each by key: counted per platform, every
-- claim read every post the platform took within the window (a day on
-- Instagram) and hashed all its accounts, growing with the day's posts
-- rather than with the rows due. Nothing runs when no platform has an
-- account limit.
limited AS (
  SELECT d.account_id, u.n AS used, l.acc_n
    FROM (SELECT DISTINCT s.account_id FROM post_schedules s
           WHERE EXISTS (SELECT 1 FROM lim WHERE acc_n IS NOT NULL)
             AND s.status = 'pending' AND s.scheduled_at <= now()
             AND (s.not_before IS NULL OR s.not_before <= now())) d
    CROSS JOIN LATERAL (SELECT platform, platform_usage, platform_usage_at
                          FROM social_accounts WHERE id = d.account_id OFFSET 0) a
    JOIN lim l ON l.platform = a.platform AND l.acc_n IS NOT NULL
    CROSS JOIN LATERAL (
      -- In flight, and published within the window, each from its own
      -- index (a row in flight has no published_at: the fold sets it with
      -- the published status, a retry clears it).
      SELECT (SELECT count(*) FROM post_schedules r
               WHERE r.account_id = d.account_id AND r.status IN ('queued', 'retrying'))
             + (SELECT count(*) FROM post_schedules r
                 WHERE r.account_id = d.account_id
                   AND r.published_at > now() - l.acc_ms * interval '1 millisecond')
             -- posts made elsewhere (scheduler/claim.h "CLAIM_ELSEWHERE")
             + CASE WHEN a.platform_usage_at > now() - l.acc_ms * interval '1 millisecond'
               THEN greatest(a.platform_usage - (
                 SELECT count(*) FROM post_schedules q
                  WHERE q.account_id = d.account_id AND q.published_at <= a.platform_usage_at
                    AND q.published_at > a.platform_usage_at
                                         - l.acc_ms * interval '1 millisecond'), 0)
               ELSE 0 END AS n) u),
blocked AS (
  SELECT account_id FROM busy WHERE n >= $2
  UNION SELECT account_id FROM limited WHERE used >= acc_n
  UNION SELECT b.account_id FROM busy b
          CROSS JOIN LATERAL (SELECT platform, platform_usage_at FROM social_accounts
                               WHERE id = b.account_id OFFSET 0) a
          JOIN lim l ON l.platform = a.platform WHERE (l.probe AND NOT coalesce(a.platform_usage_at > now()
                    - least(l.acc_ms, 60000) * interval '1 millisecond', false))
  UNION SELECT id FROM social_accounts WHERE paused_until > now()
  UNION SELECT a.id FROM tbusy t JOIN social_accounts a ON a.tenant_id = t.tenant_id
         WHERE t.n >= $9),
win AS (
  (SELECT s.id, s.account_id, s.scheduled_at, 0 AS lane FROM post_schedules s
    WHERE s.status = 'pending' AND s.priority = 'urgent' AND s.scheduled_at <= now()
      AND (s.not_before IS NULL OR s.not_before <= now())
      AND s.account_id NOT IN (SELECT account_id FROM blocked)
    ORDER BY s.scheduled_at LIMIT $1 * 4)
  UNION ALL
  (SELECT s.id, s.account_id, s.scheduled_at, 1 FROM post_schedules s
    WHERE s.status = 'pending' AND s.priority <> 'urgent' AND s.scheduled_at <= now()
      AND (s.not_before IS NULL OR s.not_before <= now())
      AND s.account_id NOT IN (SELECT account_id FROM blocked)
    ORDER BY s.scheduled_at LIMIT $1 * 4)),
-- The window's accounts, one row each: its rows in the window (wn), in the
-- queue (busy) and of its rate limit used (used), summed over a UNION ALL
-- instead of joined (the planner cannot know how many rows these CTEs
-- hold and joined them by nested loops: window accounts x queued accounts,
-- 4,000,000 comparisons and 400 ms a claim in a burst over many accounts),
-- then the account itself read by key (LATERAL ... OFFSET 0: joined as a
-- table, the planner read every account for every claim).
wacct AS MATERIALIZED (
  SELECT x.id, x.wn, x.busy, x.used, a.tenant_id, a.platform, a.platform_usage_at
    FROM (SELECT account_id AS id, sum(wn)::int8 AS wn, sum(busy)::int8 AS busy,
                 sum(used)::int8 AS used
            FROM (SELECT account_id, 1::int8 AS wn, 0::int8 AS busy, 0::int8 AS used FROM win
                  UNION ALL SELECT account_id, 0, n, 0 FROM busy
                  UNION ALL SELECT account_id, 0, 0, used FROM limited) u
           GROUP BY account_id HAVING sum(wn) > 0) x
    CROSS JOIN LATERAL (SELECT tenant_id, platform, platform_usage_at
                          FROM social_accounts WHERE id = x.id OFFSET 0) a),
-- Crowded: the window is full and an account (or a tenant, when there is
-- another tenant) has more rows in it than free slots. The tenants' sums
-- are taken the same way as the accounts'.
crowded AS (
  SELECT (SELECT count(*) FROM win) >= $1 * 4 AND (EXISTS (
    SELECT 1 FROM wacct a LEFT JOIN lim l ON l.platform = a.platform
     WHERE a.wn > least($2::int8 - a.busy, l.acc_n - a.used,
             CASE WHEN (l.probe AND NOT coalesce(a.platform_usage_at > now()
                    - least(l.acc_ms, 60000) * interval '1 millisecond', false))
             THEN 1 - a.busy END)) OR EXISTS (
    SELECT 1 FROM (SELECT tenant_id, sum(wn)::int8 AS n, sum(tn)::int8 AS tn
                     FROM (SELECT tenant_id, wn, 0::int8 AS tn FROM wacct
                           UNION ALL SELECT tenant_id, 0, n FROM tbusy) u
                    GROUP BY tenant_id HAVING sum(wn) > 0) t
     WHERE t.n > $9::int8 - t.tn
       AND EXISTS (SELECT 1 FROM tenants o WHERE o.id <> t.tenant_id))) AS yes),
cand AS (
  SELECT * FROM win WHERE NOT (SELECT yes FROM crowded)
  UNION ALL
  SELECT s.id, s.account_id, s.scheduled_at, CASE WHEN s.priority = 'urgent' THEN 0 ELSE 1 END
    FROM post_schedules s
   WHERE (SELECT yes FROM crowded)
     AND s.status = 'pending' AND s.scheduled_at <= now()
     AND (s.not_before IS NULL OR s.not_before <= now())
     AND s.account_id NOT IN (SELECT account_id FROM blocked)),
-- The candidates' accounts: the window's, or when crowded every candidate
-- account, read by key as wacct is.
cacct AS MATERIALIZED (
  SELECT id, tenant_id, platform, platform_usage_at FROM wacct WHERE NOT (SELECT yes FROM crowded)
  UNION ALL
  SELECT a.id, a.tenant_id, a.platform, a.platform_usage_at
    FROM (SELECT DISTINCT account_id FROM cand WHERE (SELECT yes FROM crowded)) d
    CROSS JOIN LATERAL (SELECT id, tenant_id, platform, platform_usage_at
                          FROM social_accounts WHERE id = d.account_id OFFSET 0) a),
ranked AS (
  SELECT c.id, c.lane, c.scheduled_at, a.platform, a.tenant_id,
         row_number() OVER (PARTITION BY c.account_id ORDER BY c.lane, c.scheduled_at, c.id) AS rn,
         least($2::int8 - coalesce(b.n, 0), l.acc_n - coalesce(m.used, 0),
             CASE WHEN (l.probe AND NOT coalesce(a.platform_usage_at > now()
                    - least(l.acc_ms, 60000) * interval '1 millisecond', false))
             THEN 1 - coalesce(b.n, 0) END) AS free
    FROM cand c JOIN cacct a ON a.id = c.account_id
    LEFT JOIN lim l ON l.platform = a.platform
    LEFT JOIN busy b ON b.account_id = c.account_id
    LEFT JOIN limited m ON m.account_id = c.account_id),
admitted AS ( -- the account's slots, then the tenant's, round-robin over its accounts
  SELECT r.id, r.lane, r.rn, r.scheduled_at, r.platform, $9::int8 - coalesce(tb.n, 0) AS tfree,
         row_number() OVER (PARTITION BY r.tenant_id
                            ORDER BY r.lane, r.rn, r.scheduled_at, r.id) AS trn
    FROM ranked r LEFT JOIN tbusy tb ON tb.tenant_id = r.tenant_id
   WHERE r.rn <= r.free),
app AS (
  SELECT l.platform, l.app_n -
         (SELECT count(*) FROM post_schedules r JOIN social_accounts ra ON ra.id = r.account_id
           WHERE ra.platform = l.platform AND (r.status IN ('queued', 'retrying')
              OR r.published_at > now() - l.app_ms * interval '1 millisecond')) AS free
    FROM lim l WHERE l.app_n IS NOT NULL),
pick AS (
  SELECT r.id, r.lane, r.trn, r.rn, r.scheduled_at, app.free AS app_free,
         row_number() OVER (PARTITION BY r.platform
                            ORDER BY r.lane, r.trn, r.rn, r.scheduled_at, r.id) AS prn
    FROM admitted r LEFT JOIN app ON app.platform = r.platform
   WHERE r.trn <= r.tfree),
top AS (
  SELECT id, lane, trn, rn, scheduled_at FROM pick
   WHERE app_free IS NULL OR prn <= app_free
   ORDER BY lane, trn, rn, scheduled_at LIMIT $1 * 2)
-- The content is the schedule's variant's where one applies (0027), text
-- and media each over the post's.
SELECT s.id, s.generation, s.post_id, s.account_id, a.platform, a.external_id,
       a.credentials, a.status, coalesce(p.v ->> 'text', p.text), coalesce(p.link, ''),
       coalesce(p.v -> 'media', p.media)::text,
       (extract(epoch FROM s.scheduled_at) * 1000)::bigint, s.priority = 'urgent',
       s.traceparent, coalesce((extract(epoch FROM s.deadline) * 1000)::bigint, 0),
       coalesce(p.thread::text, ''), coalesce(p.first_comment, '')
  FROM top k
  JOIN post_schedules s ON s.id = k.id
  CROSS JOIN LATERAL (SELECT platform, external_id, credentials, status
      FROM social_accounts WHERE id = s.account_id OFFSET 0) a
  CROSS JOIN LATERAL (SELECT text, link, media, thread, first_comment,
                             autopost_post_variant(variants, s.account_id, a.platform) AS v
      FROM posts WHERE id = s.post_id OFFSET 0) p
 WHERE s.status = 'pending'
 ORDER BY k.lane, k.trn, k.rn, k.scheduled_at
 LIMIT $1
   FOR UPDATE OF s SKIP LOCKED
