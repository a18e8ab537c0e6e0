-- 0010_tenants: a tenant (a customer or workspace of the application that
-- runs autopost) owns accounts and posts; API keys belong to a tenant
-- (issue 18, "Tenants and keys").
--
-- Rows that exist before this migration go to the default tenant, whose id
-- is fixed so scripts and tests can name it:
--   00000000-0000-0000-0000-000000000001  "default"
-- A schedule's tenant is its account's tenant; posts carry tenant_id too so
-- the API can answer "not yours" (404) without a join through schedules.
--
-- API keys: only a SHA-256 of the key is stored (key_hash, 32 bytes); the key
-- itself is printed once by `autopostctl api-keys create`. key_prefix (the
-- first characters of the key, never enough to use it) lets an operator tell
-- keys apart in `api-keys list`.

CREATE TABLE tenants (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'default');

ALTER TABLE social_accounts
    ADD COLUMN tenant_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001'
        REFERENCES tenants (id);
ALTER TABLE posts
    ADD COLUMN tenant_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001'
        REFERENCES tenants (id);

CREATE INDEX social_accounts_tenant_idx ON social_accounts (tenant_id);
CREATE INDEX posts_tenant_idx ON posts (tenant_id, created_at);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    key_prefix   text NOT NULL CHECK (length(key_prefix) BETWEEN 1 AND 16),
    key_hash     bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

-- Reading roles see which tenant a row belongs to; only the admin role
-- (autopostctl) manages tenants and keys.
GRANT SELECT, INSERT, UPDATE ON tenants, api_keys TO autopost_admin;
GRANT SELECT ON tenants TO autopost_scheduler, autopost_dispatcher, autopost_console;
