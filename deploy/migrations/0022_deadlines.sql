-- 0022_deadlines: a post may say when it stops being worth publishing
-- (issue 19, "Deadlines").
--
-- post_schedules.deadline is the post's own "deadline" (POST /v1/posts,
-- `autopostctl import` / `schedule`), NULL = none. The effective deadline of
-- a row is the earlier of it and scheduled_at + platforms.<p>.max_lateness
-- (a config value, so it is not stored: changing the config changes it for
-- rows not yet queued). A row that cannot start its platform call before it
-- ends 'expired' (0016 added the status, its event and the outbox trigger):
--   the scheduler expires due pending rows past it instead of claiming them
--   (store/sql/expire_due.sql), and refuses to publish a claimed one;
--   a publisher that reaches it before any request of the job went out ends
--   the job OUTCOME_EXPIRED, which the dispatcher folds into 'expired'.
--
-- No CHECK (deadline >= scheduled_at): the API refuses that with a 422 on
-- its field, and a reschedule past the deadline must still be writable (the
-- row then expires with its reason, which is what the user asked for).
--
-- Grants: every role that reads or inserts post_schedules has a table-wide
-- SELECT or INSERT (0002, 0009, 0011), which covers a new column: the API
-- writes it, the scheduler reads it, the console and the dispatcher can see
-- it. The scheduler's narrowed UPDATE (status, error_*, updated_at) already
-- covers an expiry, and nobody else needs to change the column; no new
-- grant is made, none is widened.

ALTER TABLE post_schedules ADD COLUMN deadline timestamptz;

-- The expiry pass finds rows whose own deadline passed without walking the
-- due backlog; only pending rows with a deadline are in it.
CREATE INDEX post_schedules_deadline_idx ON post_schedules (deadline)
    WHERE status = 'pending' AND deadline IS NOT NULL;
