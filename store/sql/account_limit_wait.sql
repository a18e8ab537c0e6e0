-- account_limit_wait: why a due pending schedule waits for its account
-- limit, for `autopostctl show`: the claim's count (claim_fair.sql: queued
-- and retrying jobs, posts published within the window, and, from the
-- platform's last count, posts made elsewhere, held one window after the
-- count was read). Mirrors the claim's "posts made elsewhere" (scheduler/claim.h
-- CLAIM_ELSEWHERE): keep them in step. $1 account id, $2 account_window in
-- ms. Answers queued, published in the window, made elsewhere, the
-- platform's count, when it was read (epoch ms), and when a slot opens at
-- the latest (epoch ms): the oldest counted post leaving the window.
WITH a AS (SELECT id, platform_usage AS usage, platform_usage_at AS at
             FROM social_accounts WHERE id = $1::uuid),
 w AS (SELECT $2::int8 * interval '1 millisecond' AS len)
 SELECT (SELECT count(*) FROM post_schedules
          WHERE account_id = a.id AND status IN ('queued', 'retrying')),
        (SELECT count(*) FROM post_schedules
          WHERE account_id = a.id AND published_at > now() - w.len),
        CASE WHEN a.at > now() - w.len THEN greatest(a.usage - (
          SELECT count(*) FROM post_schedules q WHERE q.account_id = a.id
             AND q.published_at <= a.at AND q.published_at > a.at - w.len), 0) ELSE 0 END,
        a.usage, (extract(epoch FROM a.at) * 1000)::bigint,
        (extract(epoch FROM least(
          (SELECT min(published_at) FROM post_schedules
            WHERE account_id = a.id AND published_at > now() - w.len),
          CASE WHEN a.at > now() - w.len THEN a.at END) + w.len) * 1000)::bigint
   FROM a, w
