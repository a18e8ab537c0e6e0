-- 0009_narrow_roles: each role may change only the columns it writes, and
-- the console reads with a role of its own (issue 17, "Database roles").
--
--   autopost_scheduler   UPDATE of post_schedules narrowed to what it writes
--                        (scheduler/scheduler.c: marks rows queued, or
--                        failed with the reason it refused them).
--   autopost_dispatcher  UPDATE of post_schedules narrowed to the outcome
--                        columns (dispatcher/fold.c): it can no longer repoint
--                        a schedule at another account or post, nor move its
--                        scheduled_at. Its social_accounts columns were
--                        already narrow (0004, 0005, 0007).
--   autopost_admin       loses TRIGGER and TRUNCATE: a trigger would run its
--                        code as whoever writes the table next, and TRUNCATE
--                        skips the history every DELETE leaves.
--   autopost_console     new, read-only: what the console's pages show
--                        (console/api.c), never an account's sealed
--                        credentials nor schema_migrations.
--   autopost_console_actions
--                        new: the two console actions (retry, cancel), for a
--                        console started with console.token_file. A console
--                        user is made a member only when actions are wanted.
--
-- CREATE on schema public is revoked from PUBLIC (PostgreSQL 15 does this
-- for new databases; an older or upgraded cluster may still grant it), so
-- no login user can plant a table or function that shadows ours.
--
-- Roles are created as in 0002 (only when missing, with the same hint).

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['autopost_console', 'autopost_console_actions'] LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        IF NOT EXISTS (SELECT 1 FROM pg_roles
                        WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
            RAISE EXCEPTION 'role % does not exist and % may not create roles', r, current_user
                USING HINT = 'Run autopostctl migrate as a superuser or as the database owner '
                             'with CREATEROLE, or have an administrator run: CREATE ROLE '
                             || r || ' NOLOGIN;';
        END IF;
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

DO $$
BEGIN
    IF has_schema_privilege(current_user, current_schema(), 'USAGE WITH GRANT OPTION') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO autopost_console, autopost_console_actions',
                       current_schema());
    END IF;
    -- Only the schema's owner (or a member of it) can revoke; anyone else
    -- would get a warning and change nothing, so say so instead.
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
        IF pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE nspname = 'public'),
                       'USAGE') THEN
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        ELSE
            RAISE WARNING 'CREATE on schema public is left as it is: % does not own it',
                current_user
                USING HINT = 'Have its owner run: REVOKE CREATE ON SCHEMA public FROM PUBLIC;';
        END IF;
    END IF;
END
$$;

-- scheduler: the queued and the refused UPDATE of scheduler.c.
REVOKE UPDATE ON post_schedules FROM autopost_scheduler;
GRANT UPDATE (status, queued_at, error_class, error_code, error_message, updated_at)
    ON post_schedules TO autopost_scheduler;

-- dispatcher: the fold (AP_FOLD_SQL_UPDATE), the give-up (AP_ADVISORY_SQL_FAIL)
-- and the reauth failure (AP_ACCOUNT_SQL_REAUTH).
REVOKE UPDATE ON post_schedules FROM autopost_dispatcher;
GRANT UPDATE (status, generation, not_before, attempts, external_post_id, external_url,
              published_at, error_class, error_code, error_message, updated_at)
    ON post_schedules TO autopost_dispatcher;

-- admin: no triggers, no truncation.
REVOKE TRIGGER, TRUNCATE ON social_accounts, posts, post_schedules, schedule_attempts
    FROM autopost_admin;

-- console: reads; of social_accounts every column but the sealed token.
GRANT SELECT ON posts, post_schedules, schedule_attempts TO autopost_console;
GRANT SELECT (id, platform, external_id, display_name, status, status_reason, created_at,
              updated_at, credentials_issued_at_ms, paused_until, platform_usage,
              platform_usage_at)
    ON social_accounts TO autopost_console;

-- console actions: retry (ctl/ctl_retry.h) and cancel (console/api.c).
GRANT UPDATE (status, generation, attempts, error_class, error_code, error_message,
              external_post_id, external_url, queued_at, published_at, scheduled_at, updated_at)
    ON post_schedules TO autopost_console_actions;
GRANT INSERT ON schedule_attempts TO autopost_console_actions;
GRANT USAGE ON SEQUENCE schedule_attempts_id_seq TO autopost_console_actions;
