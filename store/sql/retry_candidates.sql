-- retry_candidates: what `autopostctl retry --platform ...` selects, locked
-- for the retry that follows in the same transaction. SKIP LOCKED leaves a
-- row another retry or a service is moving right now to that one. $1
-- statuses (text[]), $2 platform, $3 text in the message or code
-- (case-insensitive), $4 error class, $5/$6 since (epoch ms, or ms back from
-- now()), $7/$8 until (likewise); a NULL filter matches everything.
-- Answers id, old_status, oldest change first.
SELECT s.id, s.status AS old_status FROM post_schedules s
  JOIN social_accounts a ON a.id = s.account_id
 WHERE s.status = ANY ($1::text[]) AND ($2::text IS NULL OR a.platform = $2)
   AND ($3::text IS NULL OR strpos(lower(coalesce(s.error_message, '') || ' ' ||
                                         coalesce(s.error_code, '')), lower($3)) > 0)
   AND ($4::text IS NULL OR s.error_class = $4)
   AND s.updated_at >= coalesce(to_timestamp($5::bigint / 1000.0),
                                now() - $6::bigint * interval '1 millisecond', '-infinity')
   AND s.updated_at <= coalesce(to_timestamp($7::bigint / 1000.0),
                                now() - $8::bigint * interval '1 millisecond', 'infinity')
 ORDER BY s.updated_at, s.id
   FOR UPDATE OF s SKIP LOCKED
