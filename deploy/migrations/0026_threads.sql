-- 0026_threads: posts that are more than one message (issue 20, "Posts that
-- are more than one message"; README "Threads and first comments").
--
-- posts.thread is the thread's parts after the post's own text, as the API
-- and `autopostctl import` take them, normalised (common/ap_thread.h):
-- [{"text": "...", "media": [{"url", "type", "alt_text"}]?}, ...]; NULL: one
-- message. posts.first_comment is the reply made to the post once it is
-- live; NULL: none. The scheduler puts both in the job (PublishJob fields
-- 16 and 17); which platform takes them and each part's length is the
-- adapter's to judge before anything is stored.
--
-- post_schedules.part_external_ids holds the ids of the messages after the
-- post (the thread's parts in order, then the first comment), as the
-- publisher reported them (PublishResult field 22): all of them for a
-- published schedule, the ones that went live for a schedule that failed
-- part-way (its error_message names them too). The post's own id stays in
-- external_post_id.
--
-- Grants: the table-level SELECT/INSERT of 0002/0009/0011 cover the new
-- posts columns for the roles that read and write posts; the dispatcher
-- writes post_schedules' outcome columns by column grant (0009), so it is
-- granted this one the same way.
ALTER TABLE posts ADD COLUMN thread jsonb, ADD COLUMN first_comment text;
ALTER TABLE posts ADD CONSTRAINT posts_thread_is_array
  CHECK (thread IS NULL OR jsonb_typeof(thread) = 'array');
ALTER TABLE post_schedules ADD COLUMN part_external_ids text[];
GRANT UPDATE (part_external_ids) ON post_schedules TO autopost_dispatcher;

-- The schedule's events carry the thread's ids too (0025's body, replaced,
-- not edited: an applied migration keeps the text it was applied with).
CREATE OR REPLACE FUNCTION autopost_schedule_event_body(ev_id uuid, tenant uuid, platform text,
                                                        s post_schedules) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN json_build_object(
        'id', ev_id,
        'type', 'schedule.' || s.status,
        'created_at', autopost_event_time(now()),
        'tenant_id', tenant,
        'data', json_build_object(
            'post_id', s.post_id,
            'schedule', json_build_object(
                'id', s.id,
                'account_id', s.account_id,
                'platform', platform,
                'status', s.status,
                'attempts', s.attempts,
                'scheduled_at', autopost_event_time(s.scheduled_at),
                'published_at', autopost_event_time(s.published_at),
                'external_id', s.external_post_id,
                'external_url', s.external_url,
                'part_external_ids', coalesce(to_json(s.part_external_ids), '[]'::json),
                'trace_id', substr(s.traceparent, 4, 32),
                'error', CASE WHEN num_nonnulls(s.error_class, s.error_code,
                                                s.error_message) = 0 THEN NULL
                         ELSE json_build_object('class', s.error_class,
                                                'code', s.error_code,
                                                'message', s.error_message)
                         END)))::text;
