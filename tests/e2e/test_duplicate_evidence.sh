#!/usr/bin/env bash
# A platform's duplicate refusal of our own post is evidence, not a failure
# (issue 23 §1, README "Schedule states"). A proxy in front of X or LinkedIn
# retries a publishing call that went through: the platform stores the post,
# refuses the identical second request as a duplicate (X 403 "duplicate
# content", LinkedIn 422 DUPLICATE_POST naming the first post), and only that
# refusal reaches the publisher. It reads the account back and, finding the
# post made after the job was queued, records the schedule published with a
# history line saying so. A post with the same text made earlier (by hand,
# by someone else) still ends the schedule failed duplicate, naming it.
#
#   1. 15% of publishing calls resent (sandbox resend_rate): every row
#      published, every post on the platform once, one confirmation line per
#      resend;
#   2. the same text posted by hand seconds before the schedule was queued,
#      on X and on LinkedIn: failed duplicate, the reason names that post;
#   3. two schedules with the same text on one account, both due at once: one
#      posts, the other is refused and reads back the first one's post; the
#      dispatcher's "one post, one schedule" rule leaves exactly one row
#      published and fails the other, naming it.
source "$(dirname "$0")/lib.sh"

SEED_PLATFORMS="x linkedin"
SVC_PLATFORMS=$SEED_PLATFORMS
SVC_TIMEOUT=3s SVC_MAX_ATTEMPTS=10 SVC_CONCURRENCY=16
e2e_begin --latency-ms 5 --resend-rate 0.15
total=$(seed_scenario 20 5 2 "$(rfc3339_in 2)") || fail "seeding failed" # 200 posts, 100 per platform
[[ $total -eq 200 ]] || fail "seeded $total posts, expected 200"

svc_start scheduler
svc_start dispatcher
for platform in $SEED_PLATFORMS; do svc_start "publisher-$platform"; done
svc_wait_terminal "$total" 300 || fail "not all schedules finished"

# ---- 1. resent publishing calls ----------------------------------------------
resends=$(sandbox_stat resends)
echo "  sandbox: $resends publishing calls resent by the 'proxy'"
((resends >= 5)) || fail "only $resends resends: the test did not exercise the case"
check_exactly_once "$total" || fail "exactly-once check"
confirmed=$(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE event = 'published'
                            AND error_message LIKE 'the platform refused a duplicate; read back found our post %'")
echo "  publishers: $confirmed posts confirmed by reading back after a duplicate refusal"
[[ $confirmed -eq $resends ]] || fail "$resends resends but $confirmed confirmation lines"
# The confirmation names the very post the row holds.
mismatched=$(stack_psql -c "SELECT count(*) FROM schedule_attempts a JOIN post_schedules s
                              ON s.id = a.schedule_id
                             WHERE a.event = 'published' AND a.error_message LIKE 'the platform refused%'
                               AND position(s.external_post_id IN a.error_message) = 0")
[[ $mismatched -eq 0 ]] || fail "$mismatched confirmation lines name another post than their row"

# ---- 2. a genuinely older post with the same text ----------------------------
sandbox_post /_sandbox/config '{"resend_rate":0}' >/dev/null || fail "sandbox config"
row() { stack_psql -F '|' -c "SELECT status, coalesce(error_class, ''), coalesce(error_message, '') FROM post_schedules WHERE id = '$1'"; }
terminal() { [[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$1'") =~ ^(published|failed|unconfirmed)$ ]]; }
expect_failed_naming() { # ID POST_ID
    stack_wait_for terminal "$1" >/dev/null || fail "schedule $1 did not finish: $(row "$1")"
    local r st cls msg
    r=$(row "$1")
    IFS='|' read -r st cls msg <<<"$r"
    [[ $st == failed && $cls == duplicate && $msg == *"$2"* ]] ||
        fail "schedule $1: got '$r', expected failed duplicate naming $2"
    echo "ok: failed duplicate: ${msg:0:160}"
}
x_token=x-older-token
x_user=$(curl -fsS -H "Authorization: Bearer $x_token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
x_account=$(svc_ctl accounts add --platform x --external-id "$x_user" --token "$x_token")
x_hand=$(curl -fsS -X POST -H "Authorization: Bearer $x_token" -H 'Content-Type: application/json' \
    -d '{"text":"said first, by hand"}' "$SANDBOX_URL/x/2/tweets" | jq -r .data.id)
[[ $x_hand =~ ^[0-9]+$ ]] || fail "posting by hand on X: $x_hand"
li_token=li-older-token author=urn:li:person:olderpost
li_account=$(svc_ctl accounts add --platform linkedin --external-id "$author" --token "$li_token")
li_hand=$(curl -fsS -D - -o /dev/null -X POST -H "Authorization: Bearer $li_token" \
    -H 'LinkedIn-Version: 202411' -H 'X-Restli-Protocol-Version: 2.0.0' -H 'Content-Type: application/json' \
    -d "{\"author\":\"$author\",\"commentary\":\"said first, by hand\",\"visibility\":\"PUBLIC\",\"distribution\":{\"feedDistribution\":\"MAIN_FEED\",\"targetEntities\":[],\"thirdPartyDistributionChannels\":[]},\"lifecycleState\":\"PUBLISHED\"}" \
    "$SANDBOX_URL/linkedin/rest/posts" | tr -d '\r' | sed -n 's/^x-restli-id: //Ip')
[[ $li_hand == urn:li:share:* ]] || fail "posting by hand on LinkedIn: $li_hand"
# Creation times are compared to the second with a second of slack: the hand
# posts must be over two seconds older than the jobs' queueing.
sleep 3
x_dup=$(svc_ctl schedule --account "$x_account" --at now --text "said first, by hand")
li_dup=$(svc_ctl schedule --account "$li_account" --at now --text "said first, by hand")
expect_failed_naming "$x_dup" "$x_hand"
expect_failed_naming "$li_dup" "$li_hand"

# ---- 3. one post, one schedule -------------------------------------------------
twin_text="the same words, scheduled twice"
at=$(rfc3339_in 2)
twin1=$(svc_ctl schedule --account "$x_account" --at "$at" --text "$twin_text")
twin2=$(svc_ctl schedule --account "$x_account" --at "$at" --text "$twin_text")
for id in "$twin1" "$twin2"; do stack_wait_for terminal "$id" >/dev/null || fail "twin $id did not finish: $(row "$id")"; done
twin_posts=$(sandbox_get "/_sandbox/posts?platform=x&page_id=$x_user" |
    jq --arg t "$twin_text" '[.posts[] | select(.message == $t)] | length')
[[ $twin_posts -eq 1 ]] || fail "the twins' text is on X $twin_posts times"
st1=$(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$twin1'")
if [[ $st1 == published ]]; then first=$twin1 second=$twin2; else first=$twin2 second=$twin1; fi
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$first'") == published ]] ||
    fail "no twin published: $(row "$twin1") / $(row "$twin2")"
post=$(stack_psql -c "SELECT external_post_id FROM post_schedules WHERE id = '$first'")
expect_failed_naming "$second" "$post"
[[ $(row "$second") == *"$first"* ]] || fail "the failed twin does not name the published one: $(row "$second")"

e2e_finish
pass "duplicate refusals: $resends resent posts confirmed by read-back, older posts named, one post per schedule"
