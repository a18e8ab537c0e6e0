-- owner_lookup: who may report on a schedule (dispatcher/fold.h, issue 17).
-- $1 schedule ids (uuid[]). Answers one row per element of $1, in its
-- order: its id, the schedule's account id and that account's platform (all
-- text), the last two NULL when no such schedule exists. Row i answers
-- element i, so the dispatcher pairs each result with its row without
-- searching (a search per result was O(batch^2)). Each id is looked up by
-- key (LATERAL ... OFFSET 0): a join over the array may become a hash of
-- every row.
SELECT i.id::text, s.account_id::text, a.platform
  FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, n)
  LEFT JOIN LATERAL (SELECT account_id FROM post_schedules WHERE id = i.id OFFSET 0) s ON true
  LEFT JOIN social_accounts a ON a.id = s.account_id
 ORDER BY i.n
