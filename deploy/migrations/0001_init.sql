-- 0001_init: accounts, posts, schedules and their attempt history.
--
-- post_schedules is the state machine (see README "Schedule states"):
--   pending -> queued -> (retrying ->)* published | failed | unconfirmed
--   cancelled from pending or queued.
-- Services only ever move a row forward; every terminal row says why.

CREATE TABLE social_accounts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    platform      text NOT NULL CHECK (platform ~ '^[a-z0-9_]{1,31}$'),
    external_id   text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 128),
    display_name  text NOT NULL DEFAULT '',
    -- AES-256-GCM sealed token (common/ap_crypto.h); never plaintext.
    credentials   bytea NOT NULL,
    status        text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'disabled', 'reauth_required')),
    status_reason text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform, external_id)
);

CREATE TABLE posts (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    text       text NOT NULL DEFAULT '',
    link       text,
    -- [{"url": "...", "type": "image"|"video", "alt_text": "..."}]
    media      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(media) = 'array'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE post_schedules (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    post_id          uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    account_id       uuid NOT NULL REFERENCES social_accounts (id) ON DELETE CASCADE,
    scheduled_at     timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'queued', 'retrying', 'published',
                                       'failed', 'unconfirmed', 'cancelled')),
    generation       integer NOT NULL DEFAULT 1 CHECK (generation >= 1),
    attempts         integer NOT NULL DEFAULT 0,
    queued_at        timestamptz,
    published_at     timestamptz,
    external_post_id text,
    external_url     text,
    error_class      text,
    error_code       text,
    error_message    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The scheduler's due-row query reads only pending rows in time order; a
-- partial index keeps it a short range scan however many rows are future or
-- finished.
CREATE INDEX post_schedules_due_idx ON post_schedules (scheduled_at) WHERE status = 'pending';
CREATE INDEX post_schedules_status_idx ON post_schedules (status, updated_at);
CREATE INDEX post_schedules_account_idx ON post_schedules (account_id);
CREATE INDEX post_schedules_post_idx ON post_schedules (post_id);

-- What happened to a post, step by step: queued, every attempt's outcome,
-- manual retries and cancels.
CREATE TABLE schedule_attempts (
    id               bigserial PRIMARY KEY,
    schedule_id      uuid NOT NULL REFERENCES post_schedules (id) ON DELETE CASCADE,
    generation       integer NOT NULL,
    attempt          integer NOT NULL,
    event            text NOT NULL,  -- queued | published | retrying | failed | unconfirmed |
                                     -- cancelled | retry_requested | gave_up
    error_class      text,
    error_code       text,
    error_message    text,
    external_post_id text,
    http_status      integer,
    actor            text,           -- publisher instance, "scheduler", "autopostctl"
    started_at       timestamptz,
    finished_at      timestamptz,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    -- A redelivered result must not add a second line.
    UNIQUE (schedule_id, generation, attempt, event)
);

-- Wakes the scheduler at once for posts due now instead of at its next tick.
CREATE FUNCTION autopost_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'pending' AND NEW.scheduled_at <= now() + interval '1 second' THEN
        PERFORM pg_notify('autopost_due', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER post_schedules_notify_due
    AFTER INSERT OR UPDATE OF status, scheduled_at ON post_schedules
    -- The WHEN keeps the dispatcher's outcome updates from running PL/pgSQL.
    FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION autopost_notify_due();
