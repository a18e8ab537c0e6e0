-- schedule_detail: one schedule with its account and post, for the
-- console's schedule page. $1 schedule id. No row when there is none. Times
-- are RFC 3339 UTC text; the column names are the console's JSON keys.
-- text and media are what this schedule publishes: its variant's where one
-- applies (0027), as the claim resolves them.
SELECT s.id, s.status, s.generation, s.attempts, s.error_class, s.error_code,
       s.error_message, s.external_post_id, s.external_url,
       to_char((s.scheduled_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS scheduled_at,
       to_char((s.queued_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS queued_at,
       to_char((s.published_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS published_at,
       to_char((s.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
       to_char((s.updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at,
       a.id AS account_id, a.platform, a.external_id AS account_external_id,
       a.display_name AS account_name, coalesce(v.e ->> 'text', p.text) AS text, p.link,
       coalesce(v.e -> 'media', p.media)::text AS media
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
  JOIN posts p ON p.id = s.post_id
  CROSS JOIN LATERAL (SELECT autopost_post_variant(p.variants, s.account_id, a.platform) AS e) v
 WHERE s.id = $1
