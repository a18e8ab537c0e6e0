-- api_schedule: one schedule, only when it is the tenant's (a schedule's
-- tenant is its account's; another tenant's is no row, as a missing one).
-- $1 schedule id, $2 tenant id. Answers the API's schedule shape
-- (api_schedules_create.sql).
SELECT s.id, s.account_id, a.platform, s.status, s.attempts,
       (extract(epoch FROM s.scheduled_at) * 1000)::bigint,
       (extract(epoch FROM s.published_at) * 1000)::bigint,
       s.external_post_id, s.external_url, s.error_class, s.error_code, s.error_message,
       substr(s.traceparent, 4, 32), (extract(epoch FROM s.deadline) * 1000)::bigint,
       array_to_json(s.part_external_ids)::text, s.priority
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 WHERE s.id = $1 AND a.tenant_id = $2
