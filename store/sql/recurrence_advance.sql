-- recurrence_advance: how far a series is materialised now
-- (scheduler/recurrence.c, after occurrences_insert, same transaction).
-- $1 post id, $2 true when the rule has ended (COUNT, UNTIL or ap_recur's
-- ten years: never looked at again), $3 else the instant up to which every
-- occurrence has its rows or was counted as missed (epoch ms).
UPDATE posts
   SET recur_materialised_until =
       CASE WHEN $2::boolean THEN 'infinity'::timestamptz
            ELSE 'epoch'::timestamptz + $3::bigint * interval '1 millisecond' END
 WHERE id = $1
