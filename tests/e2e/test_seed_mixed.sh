#!/usr/bin/env bash
# The seed scenario over four platforms at once: 500 users x 3 posts x 2
# accounts, the accounts spread over Facebook, Instagram, X and LinkedIn, all
# due in the same second, one publisher per platform. Mixed media: a third of
# the posts on every platform carry a 300 KB video. Every post is published
# exactly once, each through its own platform's flow (Instagram's container
# and publish, a reel for a video; X's tweets and chunked upload; LinkedIn's
# Posts API and Videos API; Facebook's feed and the page video's resumable
# upload), every video's upload assembled whole at the sandbox, and the
# report is printed.
source "$(dirname "$0")/lib.sh"

SEED_PLATFORMS="facebook instagram x linkedin"
SVC_PLATFORMS=$SEED_PLATFORMS
SEED_VIDEO_EVERY=3 SEED_VIDEO_BYTES=300000
e2e_begin --latency-ms 20
total=$(seed_scenario 500 3 2 "$(rfc3339_in 3)") || fail "seeding failed"
[[ $total -eq 3000 ]] || fail "seeded $total posts, expected 3000"

svc_start scheduler
svc_start dispatcher
for platform in $SEED_PLATFORMS; do svc_start "publisher-$platform"; done
svc_wait_terminal "$total" 300 || fail "not all schedules finished"
check_exactly_once "$total" || fail "exactly-once check"

per_platform=$(stack_psql -F ' ' -c "
  SELECT a.platform, count(*) FILTER (WHERE s.status = 'published')
    FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
   GROUP BY 1 ORDER BY 1")
echo "$per_platform" | sed 's/^/  published on /'
for platform in $SEED_PLATFORMS; do
    n=$(awk -v p="$platform" '$1 == p {print $2}' <<<"$per_platform")
    [[ ${n:-0} -eq 750 ]] || fail "$platform published ${n:-0} posts, expected 750"
done
kinds=$(sandbox_get /_sandbox/posts | jq -r '[.posts[] | .platform] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' 2>/dev/null)
echo "  sandbox posts by platform: $kinds"
[[ $kinds == "facebook=750 instagram=750 linkedin=750 x=750" ]] ||
    fail "the sandbox's own record by platform: $kinds"

# The videos: 250 a platform, each through that platform's video flow.
videos=$(stack_psql -F ' ' -c "
  SELECT a.platform, count(*) FILTER (WHERE s.status = 'published')
    FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id JOIN posts p ON p.id = s.post_id
   WHERE p.media @> '[{\"type\": \"video\"}]' GROUP BY 1 ORDER BY 1")
echo "$videos" | sed 's/^/  videos published on /'
[[ $(paste -sd' ' <<<"$videos") == "facebook 250 instagram 250 linkedin 250 x 250" ]] ||
    fail "videos published by platform: $(paste -sd' ' <<<"$videos"), expected 250 on each platform"
reels=$(sandbox_get "/_sandbox/posts?platform=instagram" | jq '[.posts[] | select(.kind == "reel")] | length')
[[ $reels -eq 250 ]] || fail "Instagram made $reels reels, expected 250"
# Every upload holds a video's own bytes: the POSIX cksums of what each
# platform assembled are those of that platform's video files.
video_cksums() { # PLATFORM: the sorted cksums of its posts' videos, as the media host serves them
    local dir=$STACK_DIR/videos/$1 args=() i=0 url
    mkdir -p "$dir"
    while read -r url; do
        args+=(${args[0]:+--next} -fsS -o "$dir/$i" "$url")
        i=$((i + 1))
    done < <(stack_psql -c "SELECT p.media->0->>'url' FROM post_schedules s
                              JOIN social_accounts a ON a.id = s.account_id JOIN posts p ON p.id = s.post_id
                             WHERE a.platform = '$1' AND p.media @> '[{\"type\": \"video\"}]'")
    curl -Z --no-progress-meter --parallel-max 32 "${args[@]}" || return 1
    cksum "$dir"/* | cut -d' ' -f1 | sort
}
x_got=$(sandbox_get /_sandbox/x/uploads |
    jq -r '.uploads[] | select(.state == "succeeded" and .bytes == 300000) | .cksum' | sort)
[[ $(wc -l <<<"$x_got") -eq 250 && $x_got == "$(video_cksums x)" ]] ||
    fail "X: the 250 succeeded uploads are not the 250 videos' bytes ($(wc -l <<<"$x_got") succeeded)"
li_got=$(sandbox_get /_sandbox/linkedin/videos |
    jq -r '.videos[] | select(.status == "AVAILABLE" and .bytes == 300000) | .cksum' | sort)
[[ $(wc -l <<<"$li_got") -eq 250 && $li_got == "$(video_cksums linkedin)" ]] ||
    fail "LinkedIn: the 250 available videos are not the 250 videos' bytes ($(wc -l <<<"$li_got") available)"
fb_got=$(sandbox_get /_sandbox/facebook/videos |
    jq -r '.videos[] | select(.published and .bytes == 300000) | .cksum' | sort)
[[ $(wc -l <<<"$fb_got") -eq 250 && $fb_got == "$(video_cksums facebook)" ]] ||
    fail "Facebook: the 250 published videos are not the 250 videos' bytes ($(wc -l <<<"$fb_got") published)"

echo
echo "== seed run report (mixed media) =="
run_report
e2e_finish
pass "mixed seed: 3,000 posts over Facebook, Instagram, X and LinkedIn, a third of every platform's posts with video, each published once"
