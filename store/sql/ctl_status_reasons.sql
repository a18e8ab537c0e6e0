-- ctl_status_reasons: the five largest groups of failed and unconfirmed
-- schedules, for the summary of `autopostctl status` (`autopostctl failed`
-- has the full grouping). No parameters. Answers platform, status, class,
-- code, message (cut to 200 characters, '-' for none), count.
SELECT a.platform, s.status, coalesce(s.error_class, '-'), coalesce(s.error_code, '-'),
       left(coalesce(s.error_message, '-'), 200), count(*)
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 WHERE s.status IN ('failed', 'unconfirmed')
 GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, 1, 2, 3, 4, 5 LIMIT 5
