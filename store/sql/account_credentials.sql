-- account_credentials: credentials a publisher refreshed replace the stored
-- ones when newer (dispatcher/fold.h, account effects). $1 account ids,
-- $2 sealed credentials in hex, $3 their issued_at_ms.
UPDATE social_accounts a SET credentials = decode(r.blob, 'hex'),
credentials_issued_at_ms = r.issued, updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::int8[]) AS r(id, blob, issued)
WHERE a.id = r.id AND a.credentials_issued_at_ms < r.issued
