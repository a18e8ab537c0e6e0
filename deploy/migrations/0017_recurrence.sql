-- 0017_recurrence: recurring posts (issue 19, "Recurring posts").
--
-- A series is a posts row with a rule: recur_rrule (RFC 5545 RRULE value),
-- recur_tz (IANA zone), recur_start (local wall time in that zone, as the
-- client wrote it) and the accounts it goes to (recur_account_ids, in
-- request order). common/ap_recur.h expands it; nothing here does.
--
-- Occurrences become ordinary post_schedules rows a horizon ahead
-- (scheduler/recurrence.c), each with occurrence_at, the instant the rule
-- gave. The UNIQUE index on (post_id, account_id, occurrence_at) is what
-- makes materialising idempotent: two schedulers, or one that crashed after
-- inserting and before recording how far it got, insert the same rows with
-- ON CONFLICT DO NOTHING and the second insert makes nothing. Rows of
-- one-off posts have occurrence_at NULL and are not in the index.
--
-- recur_materialised_until: every occurrence up to this instant has its
-- rows (or was deliberately left out, see README "Recurring posts"); the
-- API sets it to the creation time, so a start in the past owes nothing
-- before the post existed, and 'infinity' when the rule has ended.
-- recur_cancelled_at: the series was cancelled (POST /v1/posts/{id}/cancel);
-- nothing more is materialised.
--
-- Grants (0009/0011 style, only what each role writes):
--   autopost_scheduler  insert occurrence rows; move recur_materialised_until
--   autopost_api        edit a series' text; cancel a series

ALTER TABLE posts
    ADD COLUMN recur_rrule text CHECK (length(recur_rrule) BETWEEN 1 AND 1000),
    ADD COLUMN recur_tz text CHECK (length(recur_tz) BETWEEN 1 AND 64),
    ADD COLUMN recur_start text CHECK (recur_start ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$'),
    ADD COLUMN recur_account_ids uuid[],
    ADD COLUMN recur_materialised_until timestamptz,
    ADD COLUMN recur_cancelled_at timestamptz,
    ADD CONSTRAINT posts_recurrence_whole CHECK (
        (recur_rrule IS NULL) = (recur_tz IS NULL)
        AND (recur_rrule IS NULL) = (recur_start IS NULL)
        AND (recur_rrule IS NULL) = (recur_account_ids IS NULL)
        AND (recur_rrule IS NULL) = (recur_materialised_until IS NULL));

-- The materialiser's scan: live series, least materialised first.
CREATE INDEX posts_recurrence_due_idx ON posts (recur_materialised_until)
    WHERE recur_rrule IS NOT NULL AND recur_cancelled_at IS NULL;

ALTER TABLE post_schedules ADD COLUMN occurrence_at timestamptz;

CREATE UNIQUE INDEX post_schedules_occurrence_idx
    ON post_schedules (post_id, account_id, occurrence_at)
    WHERE occurrence_at IS NOT NULL;

GRANT INSERT ON post_schedules TO autopost_scheduler;
GRANT UPDATE (recur_materialised_until) ON posts TO autopost_scheduler;
GRANT UPDATE (text, recur_cancelled_at) ON posts TO autopost_api;

-- The no-burst pass (store/sql/occurrences_skip_stale.sql) looks only at
-- pending occurrences, not at a backlog of one-off posts waiting for slots.
CREATE INDEX post_schedules_occurrence_due_idx ON post_schedules (scheduled_at)
    WHERE status = 'pending' AND occurrence_at IS NOT NULL;
