-- owner_lookup: who may report on a schedule (dispatcher/fold.h, issue 17).
-- $1 schedule ids (uuid[]). Answers one row per existing schedule: id, its
-- account id, that account's platform (all text).
SELECT s.id::text, s.account_id::text, a.platform FROM post_schedules s
JOIN social_accounts a ON a.id = s.account_id WHERE s.id = ANY ($1::uuid[])
