-- 0002_roles: least-privilege PostgreSQL roles for the services.
--
-- Three NOLOGIN group roles carry the grants; a deployment creates one LOGIN
-- user per service and makes it a member (README "Security"):
--
--   autopost_scheduler   reads due schedules with their post and account (it
--                        forwards the sealed token without being able to open
--                        it), marks rows queued or failed, writes history.
--   autopost_dispatcher  moves schedules to their outcome and writes history;
--                        it cannot read posts or accounts at all.
--   autopost_admin       autopostctl's everyday commands (accounts, schedules,
--                        import, cancel, retry, status, keys rotate).
--
-- `autopostctl migrate` itself runs as the database owner: it creates
-- tables, and here roles. No role here can DELETE a schedule or touch
-- accounts except autopost_admin.
--
-- Roles belong to the whole cluster while migrations run per database, so a
-- role is created only when missing (another database of the cluster, or an
-- administrator, may have made it already); grants belong to this database
-- and are always applied. The advisory lock of migrate is per database, so
-- two databases migrating at once may race to create a role: the loser
-- finds it made. CREATE ROLE needs superuser or CREATEROLE: the check below
-- turns "permission denied" into what to do about it.
--
-- A later migration that adds a table or sequence must grant on it too.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['autopost_scheduler', 'autopost_dispatcher', 'autopost_admin'] LOOP
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
            NULL; -- another database's migrate created it a moment ago
        END;
    END LOOP;
END
$$;

-- PUBLIC normally has USAGE on the schema; a hardened database may have
-- revoked it. Grant it when we are allowed to (the owner of the schema is).
DO $$
BEGIN
    IF has_schema_privilege(current_user, current_schema(), 'USAGE WITH GRANT OPTION') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO autopost_scheduler, autopost_dispatcher, '
                       'autopost_admin', current_schema());
    END IF;
END
$$;

-- scheduler: the claim query joins posts and social_accounts and locks only
-- post_schedules (FOR UPDATE OF s), which needs UPDATE there alone.
GRANT SELECT ON post_schedules, posts, social_accounts TO autopost_scheduler;
GRANT UPDATE ON post_schedules TO autopost_scheduler;
GRANT INSERT ON schedule_attempts TO autopost_scheduler;
GRANT USAGE ON SEQUENCE schedule_attempts_id_seq TO autopost_scheduler;

-- dispatcher: outcomes and give-ups only. Its history INSERTs name their
-- conflict target (ON CONFLICT (schedule_id, generation, attempt, event)),
-- and PostgreSQL wants SELECT on those columns: only those are granted.
GRANT SELECT, UPDATE ON post_schedules TO autopost_dispatcher;
GRANT INSERT, SELECT (schedule_id, generation, attempt, event) ON schedule_attempts
    TO autopost_dispatcher;
GRANT USAGE ON SEQUENCE schedule_attempts_id_seq TO autopost_dispatcher;

-- admin: everything on the autopost tables (not ownership: no DDL).
GRANT ALL PRIVILEGES ON social_accounts, posts, post_schedules, schedule_attempts
    TO autopost_admin;
GRANT ALL PRIVILEGES ON SEQUENCE schedule_attempts_id_seq TO autopost_admin;
GRANT SELECT ON schema_migrations TO autopost_admin;
