-- api_schedule_page: GET /v1/schedules, one page in id order (stable: ids
-- never change). $1 tenant id, $2 status or NULL, $3 account id or NULL,
-- $4 the last id of the previous page or NULL, $5 how many (the caller
-- asks one more than it shows, to know whether a next page exists), $6 a
-- post id or NULL (every schedule of a recurring series, a page at a time).
-- Answers the API's schedule shape (api_schedules_create.sql).
SELECT s.id, s.account_id, a.platform, s.status, s.attempts,
       (extract(epoch FROM s.scheduled_at) * 1000)::bigint,
       (extract(epoch FROM s.published_at) * 1000)::bigint,
       s.external_post_id, s.external_url, s.error_class, s.error_code, s.error_message,
       substr(s.traceparent, 4, 32), (extract(epoch FROM s.deadline) * 1000)::bigint,
       array_to_json(s.part_external_ids)::text, s.priority
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 WHERE a.tenant_id = $1 AND ($2::text IS NULL OR s.status = $2)
   AND ($3::uuid IS NULL OR s.account_id = $3)
   AND ($4::uuid IS NULL OR s.id > $4)
   AND ($6::uuid IS NULL OR s.post_id = $6)
 ORDER BY s.id LIMIT $5::int
