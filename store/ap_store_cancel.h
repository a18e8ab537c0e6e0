/* ap_store_cancel.h -- the one statement that cancels a pending schedule,
 * shared by the web console and autopost-api (autopostctl's cancel, which
 * also reaches queued schedules through the publishers' attempt record,
 * runs the same UPDATE and history line inside its own row-locked
 * transaction).
 *
 * Only a pending schedule: a queued one is already on the bus, and stopping
 * it needs the publishers' attempt record (`autopostctl cancel` does that).
 * The status guard is in the UPDATE itself, so a row the scheduler queues at
 * the same moment is not cancelled behind its back: the UPDATE waits for the
 * scheduler's lock, sees 'queued' and changes nothing.
 *
 * AP_STORE_SQL_CANCEL_PENDING(selection, actor, message) wraps a SELECT
 * that yields the id (column "id") of the schedules to cancel; actor and
 * message are SQL expressions (usually $n parameters) for the history line
 * and the row's error_message. It returns (id, generation) per row
 * cancelled. */
#ifndef AP_STORE_CANCEL_H
#define AP_STORE_CANCEL_H

#define AP_STORE_SQL_CANCEL_PENDING(selection, actor, message)                                     \
    "WITH c AS (" selection "), "                                                                  \
    "u AS (UPDATE post_schedules p SET status = 'cancelled', error_message = " message ", "        \
    "      updated_at = now() FROM c WHERE p.id = c.id AND p.status = 'pending' "                  \
    "      RETURNING p.id, p.generation, p.attempts), "                                            \
    "h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, "               \
    "      error_message, actor, finished_at) "                                                    \
    "      SELECT id, generation, attempts, 'cancelled', " message ", " actor ", now() FROM u "    \
    "      ON CONFLICT DO NOTHING) "                                                               \
    "SELECT id, generation FROM u"

#endif
