-- 0025_trace: one trace id end to end (issue 19, "One trace id end to end").
--
-- post_schedules.traceparent is the W3C Trace Context header value
-- (common/ap_trace.h) the schedule belongs to: the API stores the one it
-- derived from the request's `traceparent` (same trace id, the API's own
-- span id) or the one it started. The scheduler sends it on the job
-- message, the publisher on the result message, each with a span id of its
-- own; the schedule's events carry its trace id (data.schedule.trace_id,
-- the shape GET /v1/posts/{id} shows too) so autopost-webhooks sends a
-- `traceparent` of that trace on deliveries; `autopostctl show` prints it.
--
-- Rows written without one get a new trace from the column default: the
-- occurrences of a recurring series (autopost_occurrences_insert, 0017: each
-- occurrence is its own publish and starts its own trace; the series'
-- creation request is in the API's logs by post id), `autopostctl
-- schedule` and `import`. The default is set after the column is added,
-- so existing rows stay NULL (no table rewrite) and the scheduler starts a
-- trace for such a row's job without storing it (README "Tracing").
--
-- gen_random_uuid() is PostgreSQL's CSPRNG (pg_strong_random): 122 random
-- bits in the trace id, the UUID's version and variant bits fixed, which
-- the spec allows (an id need only be unique and not all zero; the
-- version nibble makes it never zero).
--
-- Grants: the table-level SELECT/INSERT of 0002/0009/0011 already cover the
-- new column for the roles that read it (scheduler, api, admin, console)
-- and write it (api, admin). Nobody may UPDATE it: 0009's column grants do
-- not name it. The default's function is executable only by the roles that
-- insert schedules (the occurrence insert runs as its owner).

CREATE FUNCTION autopost_trace_start() RETURNS text
    LANGUAGE sql VOLATILE PARALLEL SAFE
    RETURN '00-' || replace(gen_random_uuid()::text, '-', '') || '-'
           || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16) || '-01';

REVOKE EXECUTE ON FUNCTION autopost_trace_start() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION autopost_trace_start() TO autopost_api, autopost_admin;

ALTER TABLE post_schedules
    ADD COLUMN traceparent text
        CONSTRAINT post_schedules_traceparent_check
        CHECK (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
               AND substr(traceparent, 4, 32) <> repeat('0', 32)
               AND substr(traceparent, 37, 16) <> repeat('0', 16));
ALTER TABLE post_schedules ALTER COLUMN traceparent SET DEFAULT autopost_trace_start();

-- The schedule's events carry the trace (0012's body, replaced, not edited:
-- an applied migration keeps the text it was applied with).
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
                'trace_id', substr(s.traceparent, 4, 32),
                'error', CASE WHEN num_nonnulls(s.error_class, s.error_code,
                                                s.error_message) = 0 THEN NULL
                         ELSE json_build_object('class', s.error_class,
                                                'code', s.error_code,
                                                'message', s.error_message)
                         END)))::text;
