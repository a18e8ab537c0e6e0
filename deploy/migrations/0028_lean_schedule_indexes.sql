-- 0028_lean_schedule_indexes: fewer index entries per status change (issue 21).
--
-- A job changes its row's status twice (pending -> queued in the claim,
-- queued -> published in the fold), and a status change is never a HOT
-- update (status is indexed), so every change adds an entry to every index
-- whose predicate the new row version meets: 13 entries per job before this
-- migration. Two of those indexes were wider than any query needs:
--
-- * post_schedules_account_idx (account_id) repeats the first column of
--   post_schedules_account_id_idx (account_id, id) from 0011.
-- * post_schedules_status_idx (status, updated_at) took every row version,
--   published ones included, for two kinds of query that read a small part
--   of the table: the claim's "in flight per account" counts (status queued
--   or retrying; claim_*.sql, account_limit_wait.sql) and the recent
--   failures by time (failed_1m, retry_candidates.sql, outcome_series.sql,
--   ctl list/failed). Each gets a partial index of its own; a published row
--   version enters neither, a queued one only the first.
--
-- Per job: 10 index entries instead of 13. Listing every schedule of one
-- status newest first (autopostctl list --status published) now sorts the
-- matching rows instead of walking an index: an operator's command, not a
-- path a job takes.
DROP INDEX IF EXISTS post_schedules_account_idx;
DROP INDEX IF EXISTS post_schedules_status_idx;
CREATE INDEX post_schedules_inflight_idx ON post_schedules (account_id)
    WHERE status IN ('queued', 'retrying');
CREATE INDEX post_schedules_settled_idx ON post_schedules (status, updated_at)
    WHERE status NOT IN ('pending', 'queued', 'retrying', 'published');
