-- 0024_console_webhooks: the console shows webhook endpoints marked failing
-- (issue 18: "marked failing (visible in `autopostctl status` and the
-- console)"). autopost_console reads the columns that list needs (the
-- endpoint store's wh_endpoint_list: id, tenant, URL, event types, when it
-- was added, since when it fails) and nothing more: never the sealed
-- signing secret, never a delivery, never a write.
GRANT SELECT (id, tenant_id, url, event_types, created_at, failing_since)
    ON webhook_endpoints TO autopost_console;
