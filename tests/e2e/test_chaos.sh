#!/usr/bin/env bash
# Chaos during the 3,000-post run. The platform misbehaves all along (10%
# 5xx, 5% throttled, 2% accepted and never answered, 2% accepted and then
# the connection closed without an answer) while, at random points,
# every service is SIGKILLed and restarted, nats-server is killed and
# restarted on its file store, and PostgreSQL is stopped for 30 s.
#
# Afterwards, from the sandbox's own record: every schedule is terminal, none
# was posted twice, and every row agrees with what the platform has —
# published exactly where a post exists, failed only where none does, and
# unconfirmed only where an accepted post's answer was lost.
source "$(dirname "$0")/lib.sh"

SEED=${CHAOS_SEED:-$(( (RANDOM << 15) | RANDOM ))}
RANDOM=$SEED
echo "chaos seed $SEED (rerun with CHAOS_SEED=$SEED)"

SVC_ACK_WAIT=5s SVC_TIMEOUT=2s SVC_MAX_ATTEMPTS=12 SVC_CONCURRENCY=8
e2e_begin --seed "$SEED" --latency-ms 100 --latency-jitter-ms 50 \
    --error-rate-5xx 0.10 --throttle-rate 0.05 --hang-rate 0.02 --close-rate 0.02
# A double post must show up as a second accepted post, not as a 506.
sandbox_post /_sandbox/config '{"reject_duplicates":false}' >/dev/null
total=$(seed_scenario 500 3 2 "$(rfc3339_in 2)") # 3,000 posts

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook@1
svc_start publisher-facebook@2

accepted() { sandbox_stat accepted; }
# at_accepted N: wait until the sandbox has accepted N posts.
at_accepted() {
    stack_wait_for bash -c "[[ \$(curl -fsS $SANDBOX_URL/_sandbox/stats | grep -o '\"accepted\":[0-9]*' | cut -d: -f2) -ge $1 ]]" \
        >/dev/null || fail "publishing stalled before $1 accepted posts"
}
# restart NAME: SIGKILL a service at a random moment, start it again.
restart() {
    echo "SIGKILL $1 at $(accepted) accepted posts"
    svc_kill "$1" KILL || true
    sleep "0.$((RANDOM % 10))"
    svc_start "$1"
}
jitter() { echo $(($1 + RANDOM % 150)); }

STACK_WAIT_TIMEOUT=180
at_accepted "$(jitter 200)"
restart publisher-facebook@1
at_accepted "$(jitter 500)"
restart dispatcher
at_accepted "$(jitter 800)"
restart scheduler
at_accepted "$(jitter 1100)"
echo "SIGKILL nats-server at $(accepted) accepted posts"
stack_nats_kill
sleep 2
stack_nats_start || fail "nats-server did not come back"
at_accepted "$(jitter 1500)"
echo "stopping PostgreSQL for 30 s at $(accepted) accepted posts"
stack_pg_stop
sleep 30
stack_pg_start || fail "PostgreSQL did not come back"
restart publisher-facebook@2

svc_wait_terminal "$total" 600 || fail "not every schedule is terminal"
for svc in "${!SVC_PIDS[@]}"; do
    kill -0 "${SVC_PIDS[$svc]}" 2>/dev/null || fail "$svc died during the chaos"
done
report_load_sandbox

# One view: each schedule with its page and text, and the sandbox's posts of
# that page and text (there must be at most one).
q() { stack_psql -c "
  WITH s AS (
    SELECT s.id, s.status, s.external_post_id, a.external_id AS page_id, p.text AS message
      FROM post_schedules s JOIN posts p ON p.id = s.post_id
      JOIN social_accounts a ON a.id = s.account_id),
  m AS (
    SELECT s.*, (SELECT count(*) FROM sandbox_posts sp
                  WHERE sp.page_id = s.page_id AND sp.message = s.message) AS posts
      FROM s)
  $1"; }
twice=$(q "SELECT count(*) FROM m WHERE posts > 1")
published_missing=$(q "SELECT count(*) FROM m WHERE status = 'published' AND NOT EXISTS
                         (SELECT 1 FROM sandbox_posts sp WHERE sp.post_id = m.external_post_id)")
posted_not_published=$(q "SELECT count(*) FROM m WHERE posts > 0 AND status NOT IN ('published', 'unconfirmed')")
unconfirmed_unposted=$(q "SELECT count(*) FROM m WHERE status = 'unconfirmed' AND posts = 0")
orphans=$(stack_psql -c "SELECT count(*) FROM sandbox_posts sp WHERE NOT EXISTS (
            SELECT 1 FROM post_schedules s JOIN posts p ON p.id = s.post_id
              JOIN social_accounts a ON a.id = s.account_id
             WHERE a.external_id = sp.page_id AND p.text = sp.message)")
stack_psql -F ' ' -c "SELECT status, count(*), max(attempts) FROM post_schedules GROUP BY 1 ORDER BY 1" |
    sed 's/^/  status: /'
echo "  sandbox: $(sandbox_stat accepted) accepted, $(sandbox_stat duplicate_accepts) duplicate accepts"
[[ $twice -eq 0 ]] || fail "$twice schedules were posted more than once"
[[ $(sandbox_stat duplicate_accepts) -eq 0 ]] || fail "the sandbox accepted a post twice"
[[ $published_missing -eq 0 ]] || fail "$published_missing published rows have no post on the platform"
[[ $posted_not_published -eq 0 ]] || fail "$posted_not_published posts went live but their row says failed/other"
[[ $unconfirmed_unposted -eq 0 ]] || fail "$unconfirmed_unposted unconfirmed rows have no accepted post"
[[ $orphans -eq 0 ]] || fail "$orphans posts on the platform belong to no schedule"
e2e_finish
pass "chaos: $total schedules terminal, none posted twice, every row agrees with the platform"
