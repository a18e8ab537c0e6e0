-- schedule_create: `autopostctl schedule` stores one post and its one
-- schedule in one statement, so they commit together; the post belongs to
-- the account's tenant. "now" is the database's clock, the one the
-- scheduler compares against. $1 text, $2 link or NULL, $3 media (JSON
-- array text), $4 account id, $5 the time (timestamptz; NULL: now), $6 the
-- lane ('normal' or 'urgent', 0023), $7 the post's deadline (timestamptz;
-- NULL: none; README "Deadlines"), $8 variants (JSON object text or NULL,
-- 0027), $9 the thread (posts.thread JSON text or NULL, 0026), $10 the first
-- comment (or NULL). Answers the schedule's id; no row when there is no such
-- account.
WITH p AS (INSERT INTO posts (tenant_id, text, link, media, variants, thread, first_comment)
           SELECT a.tenant_id, $1, $2, $3::jsonb, $8::jsonb, $9::jsonb, $10
             FROM social_accounts a WHERE a.id = $4
           RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at, priority, deadline)
SELECT p.id, $4, coalesce($5::timestamptz, now()), $6, $7::timestamptz FROM p
RETURNING id
