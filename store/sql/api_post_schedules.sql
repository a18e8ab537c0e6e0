-- api_post_schedules: GET /v1/posts/{id}'s schedules (the caller found the
-- post in the key's tenant first). $1 post id, $2 how many. A recurring
-- series gains schedules for as long as it runs, so the answer holds the
-- $2 most recent (the caller asks one more than it shows, to say whether
-- older ones exist: GET /v1/schedules?post_id= pages through all of them),
-- oldest first. Answers the API's schedule shape (api_schedules_create.sql).
SELECT * FROM (
SELECT s.id, s.account_id, a.platform, s.status, s.attempts,
       (extract(epoch FROM s.scheduled_at) * 1000)::bigint,
       (extract(epoch FROM s.published_at) * 1000)::bigint,
       s.external_post_id, s.external_url, s.error_class, s.error_code, s.error_message,
       substr(s.traceparent, 4, 32), (extract(epoch FROM s.deadline) * 1000)::bigint,
       array_to_json(s.part_external_ids)::text, s.priority, s.created_at AS created_at_
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 WHERE s.post_id = $1
 ORDER BY s.created_at DESC, s.id DESC LIMIT $2::int) newest
 ORDER BY created_at_, id
