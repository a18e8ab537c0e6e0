-- series_create: a recurring post (README "Recurring posts"), as the API's
-- POST /v1/posts and `autopostctl schedule --rrule` / `import` store it:
-- one posts row carrying its rule and accounts, no schedule rows (the
-- scheduler materialises occurrences a horizon ahead from now on). The
-- caller checked the rule (ctl_recurrence_check) and that every account is
-- the tenant's. $1 tenant id, $2 text, $3 link or NULL, $4 media (JSON array
-- text), $5 rrule, $6 tz, $7 local start, $8 account ids (uuid[] literal),
-- $9 variants (JSON object text or NULL, 0027). Answers the post's id.
INSERT INTO posts (tenant_id, text, link, media, recur_rrule, recur_tz, recur_start,
                   recur_account_ids, recur_materialised_until, variants)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8::uuid[], now(), $9::jsonb)
RETURNING id
