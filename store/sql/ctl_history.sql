-- ctl_history: a schedule's history lines, oldest first, for `autopostctl
-- show`. $1 schedule id. The columns are ctl_show.c's H_* names; times
-- are epoch ms.
SELECT id, generation, attempt, event, error_class, error_code, error_message,
       external_post_id, http_status, actor, (extract(epoch from started_at) * 1000)::bigint, (extract(epoch from finished_at) * 1000)::bigint,
       (extract(epoch from recorded_at) * 1000)::bigint
  FROM schedule_attempts WHERE schedule_id = $1 ORDER BY id
