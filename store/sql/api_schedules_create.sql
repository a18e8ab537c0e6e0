-- api_schedules_create: POST /v1/posts makes one schedule per account, in
-- the transaction that inserted the post (api/posts.c; the accounts were
-- checked to be the key's tenant's). $1 post id, $2 the account ids
-- (uuid[], in request order), $3 the time (timestamptz; NULL: now), $4 the
-- lane ('normal' or 'urgent', 0023), $5 the request's traceparent
-- (common/ap_trace.h; every schedule of the post belongs to the request's
-- trace; NULL: a new trace per schedule, as the column's default), $6 the
-- post's deadline (timestamptz; NULL: none; README "Deadlines").
-- Answers the schedules in request order, in the API's schedule shape:
-- id, account_id, platform, status, attempts, scheduled_at and
-- published_at (epoch ms), external_post_id, external_url, error_class,
-- error_code, error_message, trace_id, deadline (epoch ms; NULL: none),
-- part_external_ids (JSON array text or NULL, 0026), priority ('normal' or
-- 'urgent') (api_schedule_json reads them by position).
WITH s AS (INSERT INTO post_schedules (post_id, account_id, scheduled_at, priority, traceparent,
                                       deadline)
           SELECT $1, t.a, coalesce($3::timestamptz, now()), $4, coalesce($5, autopost_trace_start()),
                  $6::timestamptz
             FROM unnest($2::uuid[]) WITH ORDINALITY AS t(a, n) ORDER BY t.n
           RETURNING *)
SELECT s.id, s.account_id, a.platform, s.status, s.attempts,
       (extract(epoch FROM s.scheduled_at) * 1000)::bigint,
       (extract(epoch FROM s.published_at) * 1000)::bigint,
       s.external_post_id, s.external_url, s.error_class, s.error_code, s.error_message,
       substr(s.traceparent, 4, 32), (extract(epoch FROM s.deadline) * 1000)::bigint,
       array_to_json(s.part_external_ids)::text, s.priority
  FROM s JOIN social_accounts a ON a.id = s.account_id
 ORDER BY array_position($2::uuid[], s.account_id)
