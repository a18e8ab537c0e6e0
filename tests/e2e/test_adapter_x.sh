#!/usr/bin/env bash
# The X adapter against the sandbox's X imitation, with real nats-server,
# PostgreSQL and services: one schedule per outcome class, each checked on
# its row (status, error class, reason) and on what the sandbox received.
#   validation (weighted length, a video with an image) -> failed, no API call
#   (video and GIF themselves: test_x_video)
#   503 until we turn it off            -> retrying, then published
#   hang (answer never comes)           -> ambiguous, read back, published once
#   success at exactly 280 weighted     -> published with the sandbox's id
#   the user's post window is full     -> 429, deferred until x-rate-limit-reset, published
#   the user's 24-hour allowance spent  -> quota, deferred (pending) until its reset
#   two images (downloaded from the sandbox's /media/, uploaded, attached) -> published
#   an image URL that answers 404 -> permanent, nothing posted
#   expired token -> reauth; no permission -> permanent; same text as an older
#   post -> duplicate, naming it
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="x"
SVC_TIMEOUT=2s # a hung publish becomes ambiguous quickly
SVC_MAX_ATTEMPTS=8
e2e_begin

x_user() { curl -fsS -H "Authorization: Bearer $1" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id; }
good_token=x-good-token
user=$(x_user "$good_token")
[[ $user =~ ^[0-9]+$ ]] || fail "sandbox users/me gave no id: $user"
good=$(svc_ctl accounts add --platform x --external-id "$user" --token "$good_token")
expired=$(svc_ctl accounts add --platform x --external-id 1002 --token expired-x-token)
noperm=$(svc_ctl accounts add --platform x --external-id 1003 --token noperm-x-token)
busy=$(svc_ctl accounts add --platform x --external-id "$(x_user x-busy-token)" --token x-busy-token)

# insert_schedule ACCOUNT TEXT MEDIA_JSON -> schedule id (bypasses autopostctl's checks)
insert_schedule() {
    stack_psql -v account="$1" -v text="$2" -v media="$3" <<'SQL'
WITH p AS (INSERT INTO posts (text, media) VALUES (:'text', (:'media')::jsonb) RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT p.id, (:'account')::uuid, now() FROM p RETURNING id;
SQL
}
schedule() { svc_ctl schedule --account "$1" --at now --text "$2"; }
row() { stack_psql -F '|' -c "SELECT status, coalesce(error_class, ''), coalesce(error_message, '') FROM post_schedules WHERE id = '$1'"; }
# expect ID STATUS ERROR_CLASS REASON_SUBSTRING
expect() {
    local r
    r=$(row "$1")
    IFS='|' read -r st cls msg <<<"$r"
    [[ $st == "$2" && $cls == "$3" && $msg == *"$4"* ]] ||
        fail "schedule $1: got '$r', expected status $2, class '$3', reason containing '$4'"
    echo "ok: $2 ${3:-(no class)} ${msg:0:90}"
}
status_in() { # ID STATUS...: succeeds when the row is in one of them
    local st s
    st=$(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$1'")
    for s in "${@:2}"; do [[ $st == "$s" ]] && return 0; done
    return 1
}
wait_status() { stack_wait_for status_in "$@" >/dev/null || fail "schedule $1 did not reach ${*:2}: $(row "$1")"; }
attempts_with() { # ID SQL_CONDITION: succeeds when an attempt line matches
    [[ $(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$1' AND $2") -ge 1 ]]
}
hangs_above() { [[ $(sandbox_stat hangs) -gt $1 ]]; }
x_posts_with() { # TEXT -> how many posts with that text the sandbox holds
    sandbox_get "/_sandbox/posts?platform=x" | jq --arg t "$1" '[.posts[] | select(.message == $t)] | length'
}
sandbox_config() { sandbox_post /_sandbox/config "$1" >/dev/null || fail "sandbox config $1"; }

# 140 letters with tone marks weigh 280 (X's limit); 141 weigh 282.
vi140=$(printf 'ệ%.0s' $(seq 140))
vi141=${vi140}ệ

# autopostctl counts like X too.
if svc_ctl schedule --account "$good" --at now --text "$vi141" 2>"$STACK_DIR/ctl.err"; then
    fail "autopostctl accepted a 282-weight X post"
fi
grep -q "weighs 282" "$STACK_DIR/ctl.err" || fail "autopostctl reason: $(cat "$STACK_DIR/ctl.err")"

svc_start scheduler
svc_start dispatcher
svc_start publisher-x

# ---- validation: no API call --------------------------------------------------
before=$(sandbox_stat requests)
too_long=$(insert_schedule "$good" "$vi141" '[]')
with_media=$(insert_schedule "$good" "a video and an image" \
    '[{"url":"https://cdn.example/a.mp4","type":"video"},{"url":"https://cdn.example/b.png","type":"image"}]')
wait_status "$too_long" failed
wait_status "$with_media" failed
expect "$too_long" failed invalid "weighs 282"
expect "$with_media" failed invalid "one video or GIF, not several or mixed"
[[ $(sandbox_stat requests) -eq $before ]] || fail "invalid X posts reached the sandbox"

# ---- retry: 503 until we stop it ---------------------------------------------
sandbox_config '{"error_rate_5xx":1}'
retry=$(schedule "$good" "retry: X was unavailable for a moment")
stack_wait_for attempts_with "$retry" "event = 'retrying' AND error_class = 'retry' AND http_status = 503" \
    >/dev/null || fail "no retrying attempt after a 503: $(row "$retry")"
sandbox_config '{"error_rate_5xx":0}'
wait_status "$retry" published
expect "$retry" published "" ""
[[ $(stack_psql -c "SELECT attempts FROM post_schedules WHERE id = '$retry'") -ge 2 ]] ||
    fail "the retried post took one attempt"
[[ $(x_posts_with "retry: X was unavailable for a moment") -eq 1 ]] || fail "retry: not exactly one post"

# ---- ambiguous: accepted, never answered, read back ----------------------------
hangs=$(sandbox_stat hangs)
sandbox_config '{"hang_rate":1}'
hung=$(schedule "$good" "hang: the answer never came & <b>that</b> is fine https://example.com/x")
stack_wait_for hangs_above "$hangs" >/dev/null || fail "the sandbox never held the publish"
sandbox_config '{"hang_rate":0}'
wait_status "$hung" published unconfirmed failed
expect "$hung" published "" ""
[[ $(x_posts_with "hang: the answer never came & <b>that</b> is fine https://example.com/x") -eq 1 ]] ||
    fail "ambiguous: the post is not on X exactly once"
sandbox_id=$(sandbox_get "/_sandbox/posts?platform=x" | jq -r '.posts[] | select(.message | startswith("hang:")) | .id')
[[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$hung'") == "$sandbox_id" ]] ||
    fail "ambiguous: the row does not name the read-back post $sandbox_id"
attempts_with "$hung" "error_class = 'ambiguous'" || fail "ambiguous: no ambiguous attempt recorded"
[[ $(log_count publisher-x verify_found) -ge 1 ]] || fail "ambiguous: the publisher did not read back"

# ---- the user's post window: one post per 3 s --------------------------------
sandbox_config '{"x_user_post_limit":1,"x_user_window_ms":3000}'
first=$(schedule "$busy" "window: the first post")
wait_status "$first" published
second=$(schedule "$busy" "window: the second post")
wait_status "$second" published failed unconfirmed
expect "$second" published "" ""
# One 429, then a wait until x-rate-limit-reset: a retry that ignored the
# header (backoff here is 200 ms-2 s) would have met a second 429.
[[ $(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE schedule_id = '$second' AND http_status = 429 AND error_class = 'retry'") -eq 1 ]] ||
    fail "window: expected exactly one 429 before the reset"
sandbox_config '{"x_user_post_limit":200,"x_user_window_ms":900000}'

# ---- the user's 24-hour allowance is spent: quota, deferred until its reset ----
sandbox_config '{"x_user_daily_limit":2}'
third=$(schedule "$busy" "window: a third post today")
stack_wait_for attempts_with "$third" "event = 'deferred' AND error_class = 'quota' AND http_status = 429" \
    >/dev/null || fail "24-hour allowance: no quota deferral: $(row "$third")"
[[ $(stack_psql -c "SELECT status || '|' || attempts || '|' || (not_before > now() + interval '1 hour')
                    FROM post_schedules WHERE id = '$third'") == "pending|0|true" ]] ||
    fail "24-hour allowance: the post did not wait ($(row "$third"))"
sandbox_config '{"x_user_daily_limit":0}'

# ---- the rest at once: success, reauth, permanent, duplicate ------------------
by_hand=$(curl -fsS -X POST -H "Authorization: Bearer $good_token" -H 'Content-Type: application/json' \
    -d '{"text":"posted by hand earlier"}' "$SANDBOX_URL/x/2/tweets" | jq -r .data.id) || fail "seeding a tweet"
# A duplicate refusal is read back and the post's creation time decides
# whether it is ours (made after the job was queued, to the second with a
# second of slack): the hand-made post must be clearly older than the job.
sleep 2.5
ok=$(schedule "$good" "$vi140")
reauth=$(schedule "$expired" "an expired token")
perm=$(schedule "$noperm" "an app without write access")
dup=$(schedule "$good" "posted by hand earlier")
pics=$(svc_ctl schedule --account "$good" --at now --text "two pictures" \
    --media "$SANDBOX_URL/media/one.png?bytes=30000" --media "$SANDBOX_URL/media/two.jpg")
gone=$(svc_ctl schedule --account "$good" --at now --text "a picture that is gone" \
    --media "$SANDBOX_URL/media/gone.exe")
for id in "$ok" "$reauth" "$perm" "$dup" "$pics" "$gone"; do wait_status "$id" published failed unconfirmed; done
expect "$ok" published "" ""
ok_id=$(sandbox_get "/_sandbox/posts?platform=x" | jq -r --arg t "$vi140" '.posts[] | select(.message == $t) | .id')
[[ -n $ok_id && $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$ok'") == "$ok_id" ]] ||
    fail "success: row and sandbox ids differ"
expect "$reauth" failed reauth "reconnect the account"
expect "$perm" failed permanent "not permitted"
expect "$dup" failed duplicate "duplicate content"
expect "$dup" failed duplicate "the existing post $by_hand was made at"
[[ $(x_posts_with "posted by hand earlier") -eq 1 ]] || fail "duplicate: posted twice"
expect "$pics" published "" ""
pics_post=$(sandbox_get "/_sandbox/posts?platform=x" | jq -c '.posts[] | select(.message == "two pictures")')
[[ $(jq -r '.photo_id | split(",") | length' <<<"$pics_post") -eq 2 ]] ||
    fail "images: the tweet does not carry two uploaded media ids: $pics_post"
[[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$pics'") == "$(jq -r .id <<<"$pics_post")" ]] ||
    fail "images: row and sandbox ids differ"
expect "$gone" failed permanent "answered 404"
[[ $(x_posts_with "a picture that is gone") -eq 0 ]] || fail "a post whose image is gone was published"
[[ $(x_posts_with "an expired token") -eq 0 && $(x_posts_with "an app without write access") -eq 0 ]] ||
    fail "refused posts were recorded"
[[ $(sandbox_get "/_sandbox/posts?platform=x" | jq '[.posts[] | select(.kind != "tweet")] | length') -eq 0 ]] ||
    fail "sandbox recorded X posts with another kind"

e2e_finish
pass "X adapter: every outcome class ends as it should"
