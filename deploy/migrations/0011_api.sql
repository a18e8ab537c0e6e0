-- 0011_api: what autopost-api (api/) needs: its idempotency table and a
-- PostgreSQL role of its own (issue 18, "autopost-api").
--
-- api_idempotency: one row per (tenant, Idempotency-Key). The create
-- handler inserts the row first, in the same transaction as the post, with
-- the SHA-256 of the request (method, path, body); the primary key makes a
-- concurrent duplicate wait for the first and then find its row, instead of
-- both passing a check and both creating a post. The answer (status and
-- body) is stored before COMMIT, so a replay returns exactly what the first
-- request got. Rows older than api.idempotency_ttl (>= 24 h) are treated as
-- absent and deleted by the next create of that tenant.
--
-- autopost_api (least privilege, api/*.c):
--   api_keys        read the key's tenant and state by hash; stamp last_used_at
--   social_accounts read every column but the sealed credentials
--   posts           read, insert (POST /v1/posts)
--   post_schedules  read, insert; update only what cancel and reschedule
--                   write (status, error_message, scheduled_at, updated_at)
--   schedule_attempts insert the cancel's history line
--   api_idempotency read, insert, update, delete
-- It never reads credentials, never changes an account, a tenant or a key's
-- hash, and cannot create keys (only autopostctl, as autopost_admin, can).

CREATE TABLE api_idempotency (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    status_code  integer,
    response     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

CREATE INDEX api_idempotency_age_idx ON api_idempotency (tenant_id, created_at);

-- The API's list of schedules pages by id inside a tenant's accounts.
CREATE INDEX IF NOT EXISTS post_schedules_account_id_idx ON post_schedules (account_id, id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'autopost_api') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles
                    WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        RAISE EXCEPTION 'role autopost_api does not exist and % may not create roles', current_user
            USING HINT = 'Run autopostctl migrate as a superuser or as the database owner '
                         'with CREATEROLE, or have an administrator run: '
                         'CREATE ROLE autopost_api NOLOGIN;';
    END IF;
    BEGIN
        CREATE ROLE autopost_api NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
    END;
END
$$;

DO $$
BEGIN
    IF has_schema_privilege(current_user, current_schema(), 'USAGE WITH GRANT OPTION') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO autopost_api', current_schema());
    END IF;
END
$$;

GRANT SELECT (id, tenant_id, key_hash, revoked_at, last_used_at) ON api_keys TO autopost_api;
GRANT UPDATE (last_used_at) ON api_keys TO autopost_api;
GRANT SELECT (id, tenant_id, platform, external_id, display_name, status, status_reason,
              created_at, updated_at)
    ON social_accounts TO autopost_api;
GRANT SELECT, INSERT ON posts, post_schedules TO autopost_api;
GRANT UPDATE (status, error_message, scheduled_at, updated_at) ON post_schedules TO autopost_api;
GRANT INSERT ON schedule_attempts TO autopost_api;
GRANT USAGE ON SEQUENCE schedule_attempts_id_seq TO autopost_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON api_idempotency TO autopost_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON api_idempotency TO autopost_admin;
