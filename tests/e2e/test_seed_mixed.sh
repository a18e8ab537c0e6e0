#!/usr/bin/env bash
# The seed scenario over four platforms at once: 500 users x 3 posts x 2
# accounts, the accounts spread over Facebook, Instagram, X and LinkedIn, all
# due in the same second, one publisher per platform. Every post is published
# exactly once, each through its own platform's flow (Instagram's container
# and publish, X's tweets, LinkedIn's Posts API).
source "$(dirname "$0")/lib.sh"

SEED_PLATFORMS="facebook instagram x linkedin"
SVC_PLATFORMS=$SEED_PLATFORMS
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
e2e_finish
pass "mixed seed: 3,000 posts over Facebook, Instagram, X and LinkedIn, each published once"
