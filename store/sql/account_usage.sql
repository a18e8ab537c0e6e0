-- account_usage: the platform's own count of an account's posts goes to
-- social_accounts.platform_usage(_at) when it is newer than the stored one
-- (the claim reads it: README "Rate limits"). $1 account ids, $2 counts,
-- $3 when asked (epoch ms). DISTINCT ON keeps one row per account for
-- UPDATE ... FROM; equal times keep the larger count. It only ever delays
-- posts, so a lost or late one is harmless.
UPDATE social_accounts a SET platform_usage = p.usage, platform_usage_at = p.at
FROM (SELECT DISTINCT ON (r.id) r.id, r.usage,
'epoch'::timestamptz + r.at * interval '1 millisecond' AS at
FROM unnest($1::uuid[], $2::int4[], $3::int8[]) AS r(id, usage, at)
ORDER BY r.id, r.at DESC, r.usage DESC) p
WHERE a.id = p.id AND (a.platform_usage_at IS NULL OR a.platform_usage_at < p.at
OR (a.platform_usage_at = p.at AND a.platform_usage < p.usage))
