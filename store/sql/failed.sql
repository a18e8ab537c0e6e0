-- failed: failed and unconfirmed schedules grouped by platform, status and
-- reason, largest group first: what `autopostctl failed` prints and the
-- console's "failed" table shows. $1 platform, $2 status (NULL: both), $3
-- how many groups. Answers, by name: platform, status, error_class,
-- error_code, error_message (whole: it is the group's key and what
-- `retry --reason` matches), count, latest (RFC 3339 UTC with
-- milliseconds, the form every time of the console and autopostctl has),
-- example_ids (a JSON array of up to three ids, newest first).
SELECT a.platform, s.status, s.error_class, s.error_code, s.error_message, count(*) AS count,
       to_char(max(s.updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS latest,
       to_json((array_agg(s.id::text ORDER BY s.updated_at DESC, s.id))[1:3])::text AS example_ids
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
 WHERE s.status IN ('failed', 'unconfirmed') AND ($1::text IS NULL OR a.platform = $1)
   AND ($2::text IS NULL OR s.status = $2)
 GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, max(s.updated_at) DESC, 1, 2 LIMIT $3::bigint
