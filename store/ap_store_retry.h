/* ap_store_retry.h -- the one statement that sends schedules again, shared by
 * `autopostctl retry` (one id or a filter) and the web console. Still a
 * macro around the caller's selection; it is to become store/sql/ files
 * (ap_store_sql.h) with ap_store_* calls.
 *
 * A retry is a new generation: it gives the job a new Nats-Msg-Id and KV
 * key, so the old attempt's dedup entry and record cannot swallow it.
 * Attempts and errors are reset and the row goes back to pending (due now,
 * or at its time if that is still ahead); the history line
 * "retry_requested" is written in the same statement, so a retry is never
 * recorded without happening or the other way round.
 *
 * AP_STORE_SQL_RETRY(selection, actor) wraps a SELECT that yields (id,
 * old_status) for the rows to retry, and must lock them (FOR UPDATE [OF s]
 * [SKIP LOCKED]); actor is the SQL expression (usually a $n parameter) for
 * the history's actor column. The UPDATE repeats the allowed states as the
 * guard against a row that moved between the SELECT and the UPDATE. It
 * returns (id, generation, old_status) per row retried. */
#ifndef AP_STORE_RETRY_H
#define AP_STORE_RETRY_H

#define AP_STORE_RETRY_STATES "('failed', 'unconfirmed', 'cancelled')"

#define AP_STORE_SQL_RETRY(selection, actor)                                                       \
    "WITH c AS (" selection "), "                                                                  \
    "u AS (UPDATE post_schedules p SET status = 'pending', generation = p.generation + 1, "        \
    "attempts = 0, error_class = NULL, error_code = NULL, error_message = NULL, "                  \
    "external_post_id = NULL, external_url = NULL, queued_at = NULL, published_at = NULL, "        \
    "scheduled_at = least(p.scheduled_at, now()), updated_at = now() "                             \
    "FROM c WHERE p.id = c.id AND p.status IN " AP_STORE_RETRY_STATES " "                          \
    "RETURNING p.id, p.generation, c.old_status), "                                                \
    "h AS (INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, actor, "        \
    "finished_at) SELECT u.id, u.generation, 0, 'retry_requested', " actor ", now() FROM u) "      \
    "SELECT id, generation, old_status FROM u ORDER BY id"

#endif
