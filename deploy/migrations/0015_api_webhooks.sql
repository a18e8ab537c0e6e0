-- 0015_api_webhooks: what autopost-api needs for its webhook routes
-- (POST/GET /v1/webhooks, DELETE /v1/webhooks/{id},
-- GET /v1/webhooks/{id}/deliveries; api/webhooks.c), and no more.
--
-- The routes run the endpoint store's statements (webhooks/endpoints.c:
-- wh_endpoint_create, wh_endpoint_list, wh_endpoint_remove,
-- wh_delivery_list), each filtered by the key's tenant. Grants to
-- autopost_api, column by column, are exactly what those statements touch:
--   webhook_endpoints   insert a row (id, tenant_id, url, event_types and the
--                       sealed secret; created_at is its default); read
--                       every column but secret_sealed (the API seals a
--                       secret and shows it once, it never reads one back);
--                       delete (its deliveries go by ON DELETE CASCADE,
--                       which runs with the table owner's rights)
--   webhook_deliveries  read the columns a delivery's summary shows; never
--                       the event body, never a write (only autopost-webhooks
--                       records attempts)
-- (0013's note that the API would use the admin role's grants on these
-- tables predates the API's own role: it never does.)

GRANT INSERT (id, tenant_id, url, event_types, secret_sealed) ON webhook_endpoints TO autopost_api;
GRANT SELECT (id, tenant_id, url, event_types, created_at, failing_since)
    ON webhook_endpoints TO autopost_api;
GRANT DELETE ON webhook_endpoints TO autopost_api;
GRANT SELECT (id, webhook_id, event_id, event_type, state, attempts, last_status, last_error,
              created_at, next_attempt_at, delivered_at)
    ON webhook_deliveries TO autopost_api;
