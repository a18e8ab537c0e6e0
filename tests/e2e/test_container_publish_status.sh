#!/usr/bin/env bash
# Instagram and Threads: the publish call makes the post, then its answer is
# an error (a 5xx, or "the container has already been published" as a
# proxy's retry of the call draws) or nothing at all (the connection closes).
# The container is ours, nobody else has its id: its status says what the
# call did. PUBLISHED -> the row is published with the post's id from the
# account's listing; never failed while the post is live, never a second
# container for a post that may be live.
#
# 100 accounts (50 per platform), 2 posts each; 20% of publishes answered
# an error after commit, 5% of requests drawing commit-then-close. The
# sandbox accepts duplicate text, so a second post would show up as one.
source "$(dirname "$0")/lib.sh"

SEED_PLATFORMS="instagram threads"
SVC_PLATFORMS=$SEED_PLATFORMS
SVC_TIMEOUT=3s SVC_MAX_ATTEMPTS=10 SVC_CONCURRENCY=16
e2e_begin --latency-ms 5 --close-rate 0.05 --publish-error-after-commit-rate 0.20
sandbox_post /_sandbox/config '{"reject_duplicates":false}' >/dev/null
total=$(seed_scenario 50 2 2 "$(rfc3339_in 2)") || fail "seeding failed" # 200 posts, 100 per platform
[[ $total -eq 200 ]] || fail "seeded $total posts, expected 200"

svc_start scheduler
svc_start dispatcher
for platform in $SEED_PLATFORMS; do svc_start "publisher-$platform"; done
svc_wait_terminal "$total" 300 || fail "not all schedules finished"

errors=$(sandbox_stat errors_after_commit)
closes=$(sandbox_stat closes)
echo "  sandbox: $errors publishes answered an error after commit, $closes closed unanswered"
((errors >= 10)) || fail "only $errors error-after-commit faults: the test did not exercise the case"
((closes >= 1)) || fail "no close-after-commit fault: the test did not exercise the case"

stack_psql -c "SELECT status, error_class, error_code, left(error_message, 100), count(*)
               FROM post_schedules WHERE status <> 'published' GROUP BY 1, 2, 3, 4" >&2
check_exactly_once "$total" || fail "exactly-once check"

# Every publisher decided by the container's status, and the history says so.
for platform in $SEED_PLATFORMS; do
    decided=$(grep -c '"event":"container_status".*is PUBLISHED as post' \
        "$STACK_DIR/logs/publisher-$platform.log" || true)
    echo "  publisher-$platform: $decided posts confirmed by their container's status"
    ((decided >= 3)) || fail "$platform: the container's status decided only $decided posts"
done
confirmed=$(stack_psql -c "SELECT count(DISTINCT schedule_id) FROM schedule_attempts
                           WHERE error_code = 'container_published'")
((confirmed >= errors)) ||
    fail "$confirmed history lines say 'confirmed by the container's status', expected >= $errors"
e2e_finish
pass "container platforms, publish answered by an error or nothing after commit: $total posts once each, every row published"
