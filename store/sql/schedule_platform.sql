-- schedule_platform: the platform of a schedule's account, which names the
-- KV bucket of its attempt record (autopostctl cancel). $1 schedule id.
-- Answers platform; no row when there is no such schedule.
SELECT a.platform FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 WHERE s.id = $1
