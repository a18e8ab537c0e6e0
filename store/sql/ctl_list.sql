-- ctl_list: the most recently changed schedules, for `autopostctl list`.
-- $1 status, $2 platform (NULL: any), $3 how many. Times are epoch ms
-- (autopostctl formats them). Answers id, platform, account external id,
-- scheduled (ms), status, attempts, generation, message, updated (ms).
SELECT s.id, a.platform, a.external_id, (extract(epoch from s.scheduled_at) * 1000)::bigint, s.status,
       s.attempts, s.generation, s.error_message, (extract(epoch from s.updated_at) * 1000)::bigint
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 WHERE ($1::text IS NULL OR s.status = $1) AND ($2::text IS NULL OR a.platform = $2)
 ORDER BY s.updated_at DESC, s.id LIMIT $3::bigint
