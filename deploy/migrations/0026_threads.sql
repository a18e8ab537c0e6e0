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
