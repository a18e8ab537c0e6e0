-- 0004_account_credentials: the credential lifecycle (README "Accounts and
-- credentials").
--
-- credentials_issued_at_ms orders an account's credentials: autopostctl
-- stamps it when an operator sets a credential, a publisher when it refreshes
-- an OAuth token (common/ap_crypto.h). The dispatcher stores a refreshed
-- credential only over an older one, and marks an account reauth_required
-- only when the credential the platform refused is not older than the stored
-- one, so a late failure of an old token never undoes a reconnection.
ALTER TABLE social_accounts ADD COLUMN credentials_issued_at_ms bigint NOT NULL DEFAULT 0;

-- dispatcher: a reauth failure marks the account and fails its other open
-- schedules; a refresh result replaces the sealed credential. Column grants
-- only: it still cannot read anything else about an account.
GRANT SELECT (id, status, credentials_issued_at_ms) ON social_accounts TO autopost_dispatcher;
GRANT UPDATE (status, status_reason, credentials, credentials_issued_at_ms, updated_at)
    ON social_accounts TO autopost_dispatcher;
