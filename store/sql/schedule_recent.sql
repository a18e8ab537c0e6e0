-- schedule_recent: the most recently changed schedules, for the console's
-- list. $1 status, $2 platform (NULL: any), $3 how many. Messages are cut
-- to 200 characters (a list, not the story: schedule_detail has it whole).
SELECT s.id, a.platform, s.status, s.attempts, s.generation,
       to_char((s.scheduled_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS scheduled_at,
       to_char((s.updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at,
       s.error_class, s.error_code, left(s.error_message, 200) AS error_message
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 WHERE ($1::text IS NULL OR s.status = $1) AND ($2::text IS NULL OR a.platform = $2)
 ORDER BY s.updated_at DESC, s.id LIMIT $3::bigint
