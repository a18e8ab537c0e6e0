#!/usr/bin/env bash
# The LinkedIn adapter against the sandbox's Posts API imitation, with real
# nats-server, PostgreSQL and services: one schedule per outcome class, each
# checked on its row (status, error class, reason) and on what the sandbox
# received.
#   validation (3000 characters, a video with an image) -> failed, no API call
#   503 until we turn it off             -> retrying, then published
#   hang (answer never comes)            -> ambiguous, read back, published once
#   success with little-text characters  -> published, escaped, with the x-restli-id URN
#   two images (downloaded from the sandbox's /media/, initializeUpload, PUT) -> published
#   an image URL that answers 404 -> permanent, nothing posted
#   expired token -> reauth; no permission -> permanent;
#   same commentary -> duplicate naming the existing post; retired version -> permanent
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="linkedin"
SVC_TIMEOUT=2s # a hung publish becomes ambiguous quickly
SVC_MAX_ATTEMPTS=8
e2e_begin

good_token=li-good-token
author=urn:li:person:sandbox1
good=$(svc_ctl accounts add --platform linkedin --external-id "$author" --token "$good_token")
org=$(svc_ctl accounts add --platform linkedin --external-id urn:li:organization:42 --token li-org-token)
expired=$(svc_ctl accounts add --platform linkedin --external-id urn:li:person:p2 --token expired-li-token)
noperm=$(svc_ctl accounts add --platform linkedin --external-id urn:li:person:p3 --token noperm-li-token)

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
li_posts_with() { # COMMENTARY (as stored, escaped) -> how many posts the sandbox holds
    sandbox_get "/_sandbox/posts?platform=linkedin" | jq --arg t "$1" '[.posts[] | select(.message == $t)] | length'
}
sandbox_config() { sandbox_post /_sandbox/config "$1" >/dev/null || fail "sandbox config $1"; }

long_text=$(head -c 3001 /dev/zero | tr '\0' 'a')

# autopostctl applies the same limit.
if svc_ctl schedule --account "$good" --at now --text "$long_text" 2>"$STACK_DIR/ctl.err"; then
    fail "autopostctl accepted a 3001-character LinkedIn post"
fi
grep -q "3001 characters" "$STACK_DIR/ctl.err" || fail "autopostctl reason: $(cat "$STACK_DIR/ctl.err")"

svc_start scheduler
svc_start dispatcher
svc_start publisher-linkedin

# ---- validation: no API call --------------------------------------------------
before=$(sandbox_stat requests)
too_long=$(insert_schedule "$good" "$long_text" '[]')
with_media=$(insert_schedule "$good" "a video and an image" '[{"url":"https://cdn.example/a.mp4","type":"video"},{"url":"https://cdn.example/b.png","type":"image"}]')
wait_status "$too_long" failed
wait_status "$with_media" failed
expect "$too_long" failed invalid "3001 characters"
expect "$with_media" failed invalid "one video, not several or mixed"
[[ $(sandbox_stat requests) -eq $before ]] || fail "invalid LinkedIn posts reached the sandbox"

# ---- retry: 503 until we stop it ---------------------------------------------
sandbox_config '{"error_rate_5xx":1}'
retry=$(schedule "$good" "retry: LinkedIn was unavailable for a moment")
stack_wait_for attempts_with "$retry" "event = 'retrying' AND error_class = 'retry' AND http_status = 503" \
    >/dev/null || fail "no retrying attempt after a 503: $(row "$retry")"
sandbox_config '{"error_rate_5xx":0}'
wait_status "$retry" published
expect "$retry" published "" ""
[[ $(stack_psql -c "SELECT attempts FROM post_schedules WHERE id = '$retry'") -ge 2 ]] ||
    fail "the retried post took one attempt"
[[ $(li_posts_with "retry: LinkedIn was unavailable for a moment") -eq 1 ]] || fail "retry: not exactly one post"

# ---- ambiguous: accepted, never answered, read back ----------------------------
hangs=$(sandbox_stat hangs)
sandbox_config '{"hang_rate":1}'
hung=$(schedule "$good" "hang: no answer (but it went out)")
stack_wait_for hangs_above "$hangs" >/dev/null || fail "the sandbox never held the publish"
sandbox_config '{"hang_rate":0}'
wait_status "$hung" published unconfirmed failed
expect "$hung" published "" ""
[[ $(li_posts_with 'hang: no answer \(but it went out\)') -eq 1 ]] ||
    fail "ambiguous: the post is not on LinkedIn exactly once"
hung_urn=$(sandbox_get "/_sandbox/posts?platform=linkedin" | jq -r '.posts[] | select(.message | startswith("hang:")) | .id')
[[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$hung'") == "$hung_urn" ]] ||
    fail "ambiguous: the row does not name the read-back post $hung_urn"
attempts_with "$hung" "error_class = 'ambiguous'" || fail "ambiguous: no ambiguous attempt recorded"
[[ $(log_count publisher-linkedin verify_found) -ge 1 ]] || fail "ambiguous: the publisher did not read back"

# ---- the rest at once: success, reauth, permanent, duplicate ------------------
seeded=$(curl -fsS -D - -o /dev/null -X POST -H "Authorization: Bearer $good_token" \
    -H 'LinkedIn-Version: 202411' -H 'X-Restli-Protocol-Version: 2.0.0' -H 'Content-Type: application/json' \
    -d "{\"author\":\"$author\",\"commentary\":\"posted by hand \\\\(earlier\\\\)\",\"visibility\":\"PUBLIC\",\"distribution\":{\"feedDistribution\":\"MAIN_FEED\",\"targetEntities\":[],\"thirdPartyDistributionChannels\":[]},\"lifecycleState\":\"PUBLISHED\"}" \
    "$SANDBOX_URL/linkedin/rest/posts" | tr -d '\r' | sed -n 's/^x-restli-id: //Ip')
[[ $seeded == urn:li:share:* ]] || fail "seeding a post: no x-restli-id ($seeded)"
# A duplicate refusal is read back and the post's creation time decides
# whether it is ours (made after the job was queued, to the second with a
# second of slack): the hand-made post must be clearly older than the job.
sleep 2.5
fancy='Launch (v2) [beta] {today} <3 @team | ~50% _off_ *now* \o/ #news'
ok=$(svc_ctl schedule --account "$org" --at now --text "$fancy" --link https://example.com/launch)
reauth=$(schedule "$expired" "an expired token")
perm=$(schedule "$noperm" "an app without w_member_social")
dup=$(schedule "$good" "posted by hand (earlier)")
pics=$(svc_ctl schedule --account "$good" --at now --text "two pictures" --link https://example.com/p_1 \
    --media "$SANDBOX_URL/media/one.png?bytes=30000" --media "$SANDBOX_URL/media/two.jpg")
gone=$(svc_ctl schedule --account "$good" --at now --text "a picture that is gone" \
    --media "$SANDBOX_URL/media/gone.exe")
for id in "$ok" "$reauth" "$perm" "$dup" "$pics" "$gone"; do wait_status "$id" published failed unconfirmed; done
expect "$ok" published "" ""
escaped='Launch \(v2\) \[beta\] \{today\} \<3 \@team \| \~50% \_off\_ \*now\* \\o/ #news'
[[ $(li_posts_with "$escaped") -eq 1 ]] || fail "success: commentary not escaped as expected: $(sandbox_get "/_sandbox/posts?platform=linkedin" | jq -r '.posts[-1].message')"
ok_post=$(sandbox_get "/_sandbox/posts?platform=linkedin" | jq -c --arg t "$escaped" '.posts[] | select(.message == $t)')
[[ $(jq -r .page_id <<<"$ok_post") == urn:li:organization:42 && $(jq -r .link <<<"$ok_post") == https://example.com/launch ]] ||
    fail "success: wrong author or article: $ok_post"
[[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$ok'") == "$(jq -r .id <<<"$ok_post")" ]] ||
    fail "success: the row does not carry the x-restli-id URN"
expect "$reauth" failed reauth "reconnect the account"
expect "$perm" failed permanent "w_member_social"
expect "$dup" failed duplicate "$seeded"
expect "$dup" failed duplicate "the existing post $seeded was made at"
[[ $(li_posts_with 'posted by hand \(earlier\)') -eq 1 ]] || fail "duplicate: posted twice"
expect "$pics" published "" ""
# Images leave no room for an article: the link ends the commentary, escaped.
pics_post=$(sandbox_get "/_sandbox/posts?platform=linkedin" | jq -c '.posts[] | select(.message | startswith("two pictures"))')
[[ $(jq -r .message <<<"$pics_post") == 'two pictures
https://example.com/p\_1' ]] || fail "images: commentary is $(jq -r .message <<<"$pics_post")"
[[ $(jq -r '.photo_id | split(",") | length' <<<"$pics_post") -eq 2 ]] ||
    fail "images: the post does not carry two uploaded images: $pics_post"
[[ $(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$pics'") == "$(jq -r .id <<<"$pics_post")" ]] ||
    fail "images: row and sandbox ids differ"
expect "$gone" failed permanent "answered 404"
[[ $(li_posts_with "a picture that is gone") -eq 0 ]] || fail "a post whose image is gone was published"

# ---- a retired API version ------------------------------------------------------
sandbox_config '{"linkedin_min_version":202501}'
old=$(schedule "$good" "sent with a retired LinkedIn-Version")
wait_status "$old" failed published unconfirmed
expect "$old" failed permanent "platforms.linkedin.api_version"
[[ $(li_posts_with "sent with a retired LinkedIn-Version") -eq 0 ]] || fail "a retired version posted"
[[ $(sandbox_get "/_sandbox/posts?platform=linkedin" | jq '[.posts[] | select(.kind != "post")] | length') -eq 0 ]] ||
    fail "sandbox recorded LinkedIn posts with another kind"

e2e_finish
pass "LinkedIn adapter: every outcome class ends as it should"
