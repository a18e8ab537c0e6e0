-- ctl_show: one schedule with its account and post, for `autopostctl
-- show`. $1 schedule id; no row when there is none. Times are epoch ms.
-- The columns, in order, are ctl_show.c's S_* names: the schedule (id,
-- status, generation, attempts, error class, code, message, external post
-- id and url, scheduled, queued, published, created, updated), the account
-- (id, platform, external id, name, status), the post (id, text, link,
-- media; text and media as this schedule publishes them, its variant's
-- where one applies, 0027), then not_before (a deferred schedule waits for it), the
-- account's paused_until and the schedule's trace id (0025; NULL before).
SELECT s.id, s.status, s.generation, s.attempts, s.error_class, s.error_code,
       s.error_message, s.external_post_id, s.external_url,
       (extract(epoch from s.scheduled_at) * 1000)::bigint, (extract(epoch from s.queued_at) * 1000)::bigint,
       (extract(epoch from s.published_at) * 1000)::bigint, (extract(epoch from s.created_at) * 1000)::bigint,
       (extract(epoch from s.updated_at) * 1000)::bigint,
       a.id, a.platform, a.external_id, a.display_name, a.status,
       p.id, coalesce(v.e ->> 'text', p.text), p.link, coalesce(v.e -> 'media', p.media)::text,
       (extract(epoch from s.not_before) * 1000)::bigint, (extract(epoch from a.paused_until) * 1000)::bigint,
       substr(s.traceparent, 4, 32), array_to_string(s.part_external_ids, ' ')
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
  JOIN posts p ON p.id = s.post_id
  CROSS JOIN LATERAL (SELECT autopost_post_variant(p.variants, s.account_id, a.platform) AS e) v
 WHERE s.id = $1
