-- 0005_deferral: waiting for a platform limit is not a failure (README "Rate
-- limits").
--
-- not_before: a publisher that finds a limit in the way (a quota, a rate
-- limit, or a pause another attempt recorded) ends the job "deferred"; the
-- dispatcher puts the schedule back to pending under the next generation
-- with not_before = finished_at + the platform's wait, and the scheduler's
-- claim skips it until then. NULL: no wait.
--
-- paused_until: the platform said slow down for this account (or for the
-- whole app: then every account of the platform); the scheduler admits none
-- of the account's posts until then. Only ever moved later by the dispatcher.
ALTER TABLE post_schedules ADD COLUMN not_before timestamptz;
ALTER TABLE social_accounts ADD COLUMN paused_until timestamptz;

-- scheduler: table-wide SELECT on both tables (0002) already covers the new
-- columns. dispatcher: UPDATE on post_schedules is table-wide (0002); on
-- social_accounts it gets the pause column and what the pause statement
-- reads (id, platform), still nothing of the credentials or names.
GRANT SELECT (platform, paused_until) ON social_accounts TO autopost_dispatcher;
GRANT UPDATE (paused_until) ON social_accounts TO autopost_dispatcher;
