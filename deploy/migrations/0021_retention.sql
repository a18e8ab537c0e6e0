-- 0021_retention: how old outcome rows leave the database.
--
-- `events` and `webhook_deliveries` take a row per outcome (and per
-- endpoint), forever until now: at the seed's 3,000 jobs a minute that is
-- millions of rows a day. Both are kept for a configured time
-- (`events.retention`, `webhooks.delivery_retention`) and then deleted by the
-- service that owns them, in small batches:
--
--   events               only rows already relayed: an unrelayed event is a
--                        promise not yet kept, whatever its age. The relay
--                        (autopost_dispatcher) may not write `events` at all,
--                        so it calls the SECURITY DEFINER function below,
--                        which can delete nothing else.
--   webhook_deliveries   only finished rows (delivered or failed); the
--                        webhooks service owns them and gets DELETE.
--
-- No new index: each would cost every event row its insert (0012). The
-- DELETE finds old rows with a scan that stops after max_rows matches;
-- rows are appended in time order, so the oldest come first in the heap.

CREATE FUNCTION autopost_prune_events(keep_ms bigint, max_rows integer) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    BEGIN ATOMIC
        WITH gone AS (
            DELETE FROM events
             WHERE ctid = ANY (ARRAY(SELECT ctid FROM events
                                      WHERE relayed_at < now() - keep_ms * interval '1 millisecond'
                                      LIMIT max_rows))
            RETURNING 1)
        SELECT count(*)::integer FROM gone;
    END;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION autopost_prune_events(bigint, integer) SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
REVOKE ALL ON FUNCTION autopost_prune_events(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION autopost_prune_events(bigint, integer) TO autopost_dispatcher;

GRANT DELETE ON webhook_deliveries TO autopost_webhooks;
