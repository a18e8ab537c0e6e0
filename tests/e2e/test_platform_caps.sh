#!/usr/bin/env bash
# A platform's per-account publishing cap is an account limit known in
# advance (issue 23 §2): Instagram 50 and Threads 250 posts per rolling 24 h
# are the defaults of platforms.<p>.account_limit, enforced by the scheduler's
# claim across replicas and seeded from the platform's own count
# (quota_usage), so that no publishing call is made for the platform to
# refuse. The sandbox enforces the caps over a short rolling window
# (--quota-window-ms) so the test can watch the window reopen.
#
#   Instagram: 5 accounts x 60 posts due at once, the default cap (50), two
#     publisher replicas: exactly 250 published in the first window, the other
#     50 when it reopens.
#   Threads: the same, scaled down (account_limit lowered to 10, the sandbox's
#     cap 10): 3 accounts x 12 posts, and one account already has 4 posts
#     made outside autopost, which the claim must count: 6 of ours in its
#     first window.
#
# For both: 0 publishing calls refused (the sandbox counts them), no post
# deferred by a quota answer, every post exactly once, each account's first
# window at its cap, and post k + cap of an account going out between one
# window and one window + SLACK_MS after post k (the cap held, and the
# window was used when it reopened).
source "$(dirname "$0")/lib.sh"

WINDOW_S=20
IG_ACCOUNTS=5 IG_POSTS=60 IG_CAP=50
TH_ACCOUNTS=3 TH_POSTS=12 TH_CAP=10 TH_EXTERNAL=4
# A slot opens when a post leaves the window and is used at the next
# scheduler tick; posts made elsewhere are held until one window after the
# platform's last count, which comes a few seconds after they were made (the
# first burst's container flows). A refused call waits quota_wait (1 h).
SLACK_MS=6000

export SVC_PLATFORMS="instagram threads"
e2e_begin --latency-ms 20 --quota-window-ms $((WINDOW_S * 1000)) --threads-quota "$TH_CAP"
svc_config
# Instagram keeps its default cap (50); only the window is the sandbox's.
sed -i "s/^  instagram:\$/  instagram:\n    account_window: ${WINDOW_S}s/;
        s/^  threads:\$/  threads:\n    account_limit: $TH_CAP\n    account_window: ${WINDOW_S}s/;
        s/^scheduler:\$/scheduler:\n  max_queued_per_account: 1000/" "$AUTOPOST_CONFIG"

# seed PLATFORM ACCOUNTS POSTS FIRST_EXT_ID AT: accounts and their posts;
# page ids go to $STACK_DIR/<platform>.pages.
seed() {
    local platform=$1 accounts=$2 posts=$3 base=$4 at=$5 dir=$STACK_DIR/$1 a n media
    mkdir -p "$dir"
    : >"$dir/accounts.jsonl"
    : >"$STACK_DIR/$platform.pages"
    for ((a = 1; a <= accounts; a++)); do
        printf '{"platform":"%s","external_id":"%s","token":"cap-%s-%d","name":"%s %d"}\n' \
            "$platform" $((base + a)) "$platform" "$a" "$platform" "$a" >>"$dir/accounts.jsonl"
        echo $((base + a)) >>"$STACK_DIR/$platform.pages"
    done
    svc_ctl accounts import "$dir/accounts.jsonl" >"$dir/account_ids.txt" || return 1
    : >"$dir/schedules.jsonl"
    a=0
    while read -r id; do
        a=$((a + 1))
        media=
        [[ $platform == instagram ]] &&
            media=',"media":[{"url":"'"$SANDBOX_URL"'/media/cap-'"$a"'.jpg","type":"image"}]'
        for ((n = 1; n <= posts; n++)); do
            printf '{"account_id":"%s","at":"%s","text":"Cap test %s post %d of account %d"%s}\n' \
                "$id" "$at" "$platform" "$n" "$a" "$media" >>"$dir/schedules.jsonl"
        done
    done <"$dir/account_ids.txt"
    svc_ctl import "$dir/schedules.jsonl" >/dev/null
}

# external_post USER N: a Threads post made by another app, straight on the
# sandbox (container, then threads_publish).
external_post() {
    local user=$1 n=$2 base=$SANDBOX_URL/threads/v1.0/$1 id
    id=$(curl -fsS -X POST -d "media_type=TEXT&text=External post $n&access_token=other-app" \
        "$base/threads" | grep -o '"id":"[^"]*"' | cut -d'"' -f4)
    [[ -n $id ]] || return 1
    curl -fsS -X POST -d "creation_id=$id&access_token=other-app" "$base/threads_publish" >/dev/null
}

quota_refusals() { sandbox_stat quota_refusals; }

at=$(rfc3339_in 4)
seed instagram "$IG_ACCOUNTS" "$IG_POSTS" 17841000000000000 "$at" || fail "seeding Instagram failed"
seed threads "$TH_ACCOUNTS" "$TH_POSTS" 27841000000000000 "$at" || fail "seeding Threads failed"
th_external=$(head -n1 "$STACK_DIR/threads.pages")
for ((n = 1; n <= TH_EXTERNAL; n++)); do
    external_post "$th_external" "$n" || fail "could not make an external Threads post"
done
total=$((IG_ACCOUNTS * IG_POSTS + TH_ACCOUNTS * TH_POSTS))

svc_start scheduler@a
svc_start scheduler@b
svc_start dispatcher
for r in 1 2; do
    svc_start "publisher-instagram@$r"
    svc_start "publisher-threads@$r"
done
# While the first window is full, a waiting Instagram post says why.
for ((i = 0; i < 150; i++)); do
    waiting=$(stack_psql -c "
      SELECT s.id FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
       WHERE a.platform = 'instagram' AND s.status = 'pending'
         AND (SELECT count(*) FROM post_schedules p JOIN social_accounts pa ON pa.id = p.account_id
               WHERE pa.platform = 'instagram' AND p.status = 'published') = $((IG_ACCOUNTS * IG_CAP))
       LIMIT 1")
    [[ -n $waiting ]] && break
    sleep 0.2
done
[[ -n $waiting ]] || fail "never saw the first Instagram window full with posts waiting"
shown=$(svc_ctl show "$waiting") || fail "autopostctl show $waiting failed"
grep -Eq "waiting for the account limit: (5[0-9]|[6-9][0-9]) counted of 50 per $WINDOW_S s" <<<"$shown" ||
    fail "autopostctl show does not say why $waiting waits: $shown"
grep -m1 "waiting for the account limit" <<<"$shown"

# Two windows and the start: ~45 s at the caps.
svc_wait_terminal "$total" 90 ||
    fail "not all schedules finished; the platform refused $(quota_refusals) publishing calls"

[[ $(quota_refusals) -eq 0 ]] || fail "the platform refused $(quota_refusals) publishing calls over its cap"
deferred=$(stack_psql -c "SELECT count(*) FROM schedule_attempts WHERE event = 'deferred'")
[[ $deferred -eq 0 ]] || fail "$deferred posts were deferred by a quota answer: the claim let them through"
bad=$(stack_psql -c "SELECT count(*) FROM post_schedules WHERE status <> 'published' OR attempts <> 1")
[[ $bad -eq 0 ]] || fail "$bad schedules not published in exactly one attempt"

# Exactly once, with the external posts set aside.
report_load_sandbox
read -r ours dups orphans missing <<<"$(stack_psql -F ' ' -c "
  SELECT (SELECT count(*) FROM sandbox_posts WHERE message NOT LIKE 'External post %'),
         (SELECT count(*) - count(DISTINCT (page_id, message)) FROM sandbox_posts),
         (SELECT count(*) FROM post_schedules s WHERE NOT EXISTS (
             SELECT 1 FROM sandbox_posts sp WHERE sp.post_id = s.external_post_id)),
         (SELECT count(*) FROM sandbox_posts sp WHERE sp.message NOT LIKE 'External post %'
             AND NOT EXISTS (SELECT 1 FROM post_schedules s WHERE s.external_post_id = sp.post_id))")"
echo "sandbox: $ours posts of ours for $total schedules, $dups duplicates, $orphans rows without" \
    "a post, $missing posts without a row"
[[ $ours -eq $total && $dups -eq 0 && $orphans -eq 0 && $missing -eq 0 ]] || fail "exactly-once check"

# check_platform NAME PAGES_FILE CAP FIRST_OURS: the window figures of one
# platform from the sandbox's record (external posts included: the platform
# counts them).
check_platform() {
    local name=$1 cap=$3 first_ours=$4 pages w=$((WINDOW_S * 1000)) first per gaps n lo hi
    pages=$(sed "s/.*/'&'/" "$2" | paste -sd,)
    first=$(stack_psql -F ' ' -c "
      WITH o AS (SELECT * FROM sandbox_posts WHERE page_id IN ($pages)),
           t AS (SELECT min(accepted_at_ms) AS t0 FROM o WHERE message NOT LIKE 'External post %')
      SELECT count(*) FILTER (WHERE accepted_at_ms < t0 + $w),
             count(*) FILTER (WHERE accepted_at_ms >= t0 + $w)
        FROM o, t WHERE message NOT LIKE 'External post %'")
    per=$(stack_psql -c "
      WITH o AS (SELECT * FROM sandbox_posts WHERE page_id IN ($pages))
      SELECT string_agg(n::text, ',' ORDER BY page_id) FROM (
        SELECT a.page_id, count(*) AS n FROM o a
          JOIN (SELECT page_id, min(accepted_at_ms) AS t0 FROM o GROUP BY 1) f
            ON f.page_id = a.page_id AND a.accepted_at_ms < f.t0 + $w GROUP BY 1) x")
    gaps=$(stack_psql -c "
      WITH o AS (SELECT page_id, accepted_at_ms AS t,
                        row_number() OVER (PARTITION BY page_id ORDER BY accepted_at_ms, post_id) AS rn
                   FROM sandbox_posts WHERE page_id IN ($pages))
      SELECT count(*), min(b.t - a.t), max(b.t - a.t)
        FROM o a JOIN o b ON b.page_id = a.page_id AND b.rn = a.rn + $cap")
    IFS='|' read -r n lo hi <<<"$gaps"
    echo "$name: ours in the first window / after it: ${first/ / / }" \
        "(expected $first_ours); per account in its first window: $per (cap $cap);" \
        "post k+$cap after post k: ${lo}..${hi} ms over $n pairs (window $w ms, slack $SLACK_MS ms)"
    [[ ${first%% *} -eq $first_ours ]] ||
        fail "$name: ${first%% *} of our posts in the first window, expected $first_ours"
    [[ $(tr ',' '\n' <<<"$per" | sort -u) == "$cap" ]] ||
        fail "$name: an account's first window held $per posts, not $cap each"
    [[ $lo -ge $w ]] || fail "$name: cap broken: post k+$cap only $lo ms after post k"
    [[ $hi -le $((w + SLACK_MS)) ]] ||
        fail "$name: the window was not used when it reopened: post k+$cap $hi ms after post k"
}
check_platform Instagram "$STACK_DIR/instagram.pages" "$IG_CAP" $((IG_ACCOUNTS * IG_CAP))
check_platform Threads "$STACK_DIR/threads.pages" "$TH_CAP" \
    $((TH_ACCOUNTS * TH_CAP - TH_EXTERNAL))

e2e_finish
pass "platform caps: Instagram 250 + 50 and Threads with posts made elsewhere, no call refused"
