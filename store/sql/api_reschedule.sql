-- api_reschedule: PATCH /v1/schedules/{id} moves a pending schedule of the
-- tenant to a new time. The status guard loses cleanly to a scheduler that
-- queues the row at that moment. $1 schedule id, $2 tenant id, $3 the new
-- time (timestamptz; NULL: now). Answers id: one row when it moved, none
-- when it is missing, another tenant's or no longer pending.
UPDATE post_schedules s SET scheduled_at = coalesce($3::timestamptz, now()), updated_at = now()
  FROM social_accounts a
 WHERE s.id = $1 AND a.id = s.account_id AND a.tenant_id = $2 AND s.status = 'pending'
RETURNING s.id
