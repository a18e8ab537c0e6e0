-- account_pause: pauses from results whose pause_scope is set:
-- social_accounts.paused_until moves to finished_at + retry_after (only
-- later, never earlier) for the account, or for every account of the
-- platform (app scope), so the scheduler admits none of their posts until
-- then. $1 account ids (NULL for an app pause), $2 platforms, $3 until
-- (epoch ms). Rows are aggregated per account first: UPDATE ... FROM would
-- pick an arbitrary one of several matches.
UPDATE social_accounts a SET paused_until = p.until
FROM (SELECT x.id, max('epoch'::timestamptz + r.until * interval '1 millisecond') AS until
FROM unnest($1::uuid[], $2::text[], $3::int8[]) AS r(id, platform, until)
JOIN social_accounts x ON x.id = r.id OR (r.id IS NULL AND x.platform = r.platform)
GROUP BY x.id) p
WHERE a.id = p.id AND (a.paused_until IS NULL OR a.paused_until < p.until)
