-- 0003_rate_limits: the scheduler counts each account's posts published within
-- its platform's rate window (platforms.<p>.account_limit / app_limit) on every
-- claim; these indexes keep that count a short range scan per account and per
-- window instead of a walk over the account's whole history.
CREATE INDEX post_schedules_account_published_idx
    ON post_schedules (account_id, published_at) WHERE published_at IS NOT NULL;
CREATE INDEX post_schedules_published_idx
    ON post_schedules (published_at) WHERE published_at IS NOT NULL;
