-- 0023_priority: the urgent lane (README "Urgent lane").
--
-- A schedule is `normal` (the default, every row before this migration) or
-- `urgent`. The scheduler claims due urgent rows before normal ones and
-- publishes them on autopost.jobs.<platform>.urgent, which publishers pull
-- through a durable consumer of its own; admission caps, rate limits and the
-- attempt guard are the same for both lanes.
--
-- The claim walks post_schedules_due_idx (0001) oldest first and stops
-- early; urgent rows are few, so they get a partial index of their own that
-- the claim reads first, instead of sorting every due row by priority.
--
-- Grants: the column is covered by the table-level SELECT (scheduler,
-- dispatcher, console, api) and INSERT (api) grants of 0002/0009/0011; no
-- role gains UPDATE on it (a schedule's lane is set when it is created).
-- ADD COLUMN with a constant default rewrites nothing (PostgreSQL 11+).

ALTER TABLE post_schedules
    ADD COLUMN priority text NOT NULL DEFAULT 'normal'
        CONSTRAINT post_schedules_priority_check CHECK (priority IN ('normal', 'urgent'));

CREATE INDEX post_schedules_urgent_due_idx ON post_schedules (scheduled_at)
    WHERE status = 'pending' AND priority = 'urgent';
