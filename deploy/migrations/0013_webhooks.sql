-- 0013_webhooks: a tenant's webhook endpoints and the deliveries of events to
-- them (issue 18, "Outcomes: events and webhooks"; webhooks/).
--
-- webhook_endpoints  one URL of one tenant and the event types it wants
--                    ('*' = all). The signing secret is sealed with the
--                    credentials' AES-256-GCM (common/ap_crypto.h), bound to
--                    "webhook/<endpoint id>" as associated data: HMAC needs
--                    the secret itself, so a hash would not do, and a sealed
--                    value read out of the database (a backup, a read-only
--                    role) signs nothing. failing_since is set when a delivery
--                    gave up (webhooks.give_up_after) and cleared by the next
--                    success; `autopostctl status` lists failing endpoints.
-- webhook_deliveries one event for one endpoint: unique (webhook_id, event_id)
--                    so JetStream redeliveries of the event and several
--                    service replicas insert it once. body holds the event's
--                    JSON bytes exactly as they came from AUTOPOST_EVENTS (the
--                    signature covers those bytes). state: pending ->
--                    delivered | failed. A claim moves next_attempt_at past
--                    the request's timeout (a lease), so a replica that dies
--                    mid-request leaves the row to be retried, never lost.
--
-- autopost_webhooks is the delivery service's role: it reads endpoints,
-- writes deliveries and the endpoints' failing_since, and sees nothing else
-- (no accounts, no sealed platform credentials). Deleting an endpoint
-- deletes its deliveries.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'autopost_webhooks') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles
                        WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
            RAISE EXCEPTION 'role autopost_webhooks does not exist and % may not create roles',
                current_user
                USING HINT = 'Run autopostctl migrate as a superuser or as the database owner '
                             'with CREATEROLE, or have an administrator run: CREATE ROLE '
                             'autopost_webhooks NOLOGIN;';
        END IF;
        BEGIN
            CREATE ROLE autopost_webhooks NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF has_schema_privilege(current_user, current_schema(), 'USAGE WITH GRANT OPTION') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO autopost_webhooks', current_schema());
    END IF;
END
$$;

CREATE TABLE webhook_endpoints (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    url            text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048
                                        AND url ~ '^https?://'),
    event_types    text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 32),
    secret_sealed  bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    failing_since  timestamptz
);

CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id);

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 64),
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_status     integer, -- HTTP status of the last answer; NULL: none (timeout, refused)
    last_error      text,
    delivered_at    timestamptz,
    UNIQUE (webhook_id, event_id)
);

-- The delivery loop's claim: due pending rows, oldest due first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
-- `webhooks deliveries ID` and GET /v1/webhooks/{id}/deliveries: newest first.
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id DESC);

GRANT SELECT ON webhook_endpoints TO autopost_webhooks;
GRANT UPDATE (failing_since) ON webhook_endpoints TO autopost_webhooks;
GRANT SELECT, INSERT ON webhook_deliveries TO autopost_webhooks;
GRANT UPDATE (state, attempts, next_attempt_at, last_attempt_at, last_status, last_error,
              delivered_at) ON webhook_deliveries TO autopost_webhooks;

-- autopostctl (and the API, which runs with the admin role's grants on these
-- tables) manages endpoints and reads deliveries; the console shows them.
GRANT SELECT, INSERT, DELETE ON webhook_endpoints TO autopost_admin;
GRANT UPDATE (secret_sealed) ON webhook_endpoints TO autopost_admin; -- keys rotate
GRANT SELECT, DELETE ON webhook_deliveries TO autopost_admin;
GRANT SELECT (id, tenant_id, url, event_types, created_at, failing_since)
    ON webhook_endpoints TO autopost_console;
