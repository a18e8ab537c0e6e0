-- 0007_platform_usage: a platform's own count of an account's posts (README
-- "Rate limits"). Instagram and Threads report how many posts an account made
-- in their rolling 24 h (quota_usage), ours and those made elsewhere; the
-- publisher reads it before each post and reports it in its result, and the
-- dispatcher keeps the newest here.
--
-- platform_usage: that count; platform_usage_at: when it was asked (the
-- publisher's clock when the request was sent). Only ever moved to a newer
-- observation. The scheduler's claim counts, within account_window after
-- platform_usage_at, the posts of that count that are not ours as taken.
ALTER TABLE social_accounts ADD COLUMN platform_usage integer;
ALTER TABLE social_accounts ADD COLUMN platform_usage_at timestamptz;

-- scheduler: table-wide SELECT (0002) covers the new columns. dispatcher:
-- the new columns only (and id, which 0004 granted), still nothing of the
-- credentials or names.
GRANT SELECT (platform_usage, platform_usage_at) ON social_accounts TO autopost_dispatcher;
GRANT UPDATE (platform_usage, platform_usage_at) ON social_accounts TO autopost_dispatcher;

-- The claim reads the observations of one platform within a window on every
-- tick; most accounts (every non-Meta platform) never have one.
CREATE INDEX social_accounts_platform_usage_idx ON social_accounts (platform, platform_usage_at)
    WHERE platform_usage_at IS NOT NULL;
