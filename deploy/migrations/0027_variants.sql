-- 0027_variants: per-platform and per-account variants (issue 20, README
-- "Variants"): a post may carry another text and/or media for the accounts
-- of one platform or for one account.
--
-- posts.variants is {"<platform name or account id>": {"text"?, "media"?}}
-- (NULL: none), each media array in posts.media's shape (ctl/ctl_post.h).
-- It lives on the post, not as per-schedule columns: a recurring series'
-- occurrences are made later from the posts row alone (0017's
-- autopost_occurrences_insert), so only the post can give every occurrence
-- the same variant; and the claim reads each claimed schedule's posts row
-- anyway, so resolving there is one jsonb lookup per job on the rows already
-- picked, nothing in the claim's window or admission (claim_*.sql).
--
-- autopost_post_variant is the resolution rule on the database's side (the
-- C side is ctl_post_variant_for): the entry keyed by the account's id,
-- else the one keyed by its platform's name, else NULL; the caller takes
-- the entry's text and media each over the post's (coalesce). An
-- IMMUTABLE SQL function of its arguments is inlined into the query and
-- reads no table, so EXECUTE stays with PUBLIC (the default).
--
-- Grants: the table-level SELECT/INSERT on posts of 0002/0009/0011 cover
-- the column for the roles that read it (scheduler, api, admin, console)
-- and write it (api, admin). No service role may UPDATE it (0017's column
-- grants do not name it): a series' text edit keeps its variants.

ALTER TABLE posts
    ADD COLUMN variants jsonb
        CONSTRAINT posts_variants_check
        CHECK (variants IS NULL OR jsonb_typeof(variants) = 'object');

CREATE FUNCTION autopost_post_variant(variants jsonb, account uuid, platform text)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(variants -> account::text, variants -> platform);
