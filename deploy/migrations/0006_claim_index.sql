-- 0006_claim_index: the scheduler's claim lists the accounts the platform
-- paused (paused_until in the future) on every tick; this index keeps that a
-- short range scan instead of a walk over every account. paused_until only
-- ever moves later and is never cleared, so the partial index holds the
-- accounts that were ever paused and the range scan reads the live ones.
CREATE INDEX social_accounts_paused_idx ON social_accounts (paused_until)
    WHERE paused_until IS NOT NULL;
