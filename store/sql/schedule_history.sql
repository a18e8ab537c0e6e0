-- schedule_history: a schedule's history lines, oldest first, for the
-- console's schedule page. $1 schedule id. Times are RFC 3339 UTC text.
SELECT id, generation, attempt, event, error_class, error_code, error_message,
       external_post_id, http_status, actor,
       to_char((started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at,
       to_char((finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS finished_at,
       to_char((recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at
  FROM schedule_attempts WHERE schedule_id = $1 ORDER BY id
