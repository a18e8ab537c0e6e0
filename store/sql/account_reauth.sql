-- account_reauth: a REAUTH failure marks the account reauth_required and
-- fails its other open schedules (dispatcher/fold.h, account effects).
-- $1 account id, $2 status_reason, $3 issued_at_ms of the refused
-- credential, $4 the message stored on the other schedules. The history
-- INSERT is a CTE too (PostgreSQL runs every data-modifying CTE to the end
-- whether or not the query reads it), so the answer, one row and one
-- column, can be the count of schedules failed rather than of lines
-- inserted (which a conflict could make fewer).
WITH a AS (UPDATE social_accounts SET status = 'reauth_required', status_reason = $2::text,
updated_at = now() WHERE id = $1::uuid AND status = 'active'
AND credentials_issued_at_ms <= $3::int8 RETURNING id),
s AS (UPDATE post_schedules p SET status = 'failed', error_class = 'reauth',
error_code = 'account_reauth_required', error_message = $4::text, updated_at = now()
FROM a WHERE p.account_id = a.id AND p.status IN ('pending', 'queued', 'retrying')
RETURNING p.id, p.generation, p.attempts),
h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, error_class,
error_code, error_message, actor, finished_at)
SELECT s.id, s.generation, s.attempts, 'account_reauth', 'reauth', 'account_reauth_required',
$4::text, 'dispatcher', now() FROM s
ON CONFLICT (schedule_id, generation, attempt, event) DO NOTHING)
SELECT count(*) FROM s
