-- 0008_one_post_one_schedule: the dispatcher's rule "one post, one schedule"
-- (dispatcher/fold.c, AP_FOLD_SQL_UPDATE). A published result whose platform
-- post another published schedule of the same account already holds fails as
-- a duplicate naming that schedule: two schedules with the same text can both
-- claim one post when the second one's duplicate refusal is read back
-- (publishers/runtime.c). The dispatcher looks the post up for every
-- published result it applies; this index keeps that one short range scan
-- instead of a walk over the account's schedules. Most rows never get a post
-- id (pending, failed), hence the partial index.
CREATE INDEX post_schedules_account_post_idx ON post_schedules (account_id, external_post_id)
    WHERE external_post_id IS NOT NULL;
