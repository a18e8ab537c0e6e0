#!/usr/bin/env bash
# The hot statements keep their per-row plans once PostgreSQL has statistics.
#
# The other tests and the bench ran on tables filled a moment before, with
# no statistics; a table in service has them, and with them the planner
# turned the dispatcher's "one post, one schedule" look-up into a walk of a
# whole index per result, eight times over, and expire_due into a scan of
# every pending row each tick (bench/README.md, 2026-12-07 second entry).
# Timing would not catch that on a small table: the plans do. Here the
# schedules table holds published, queued and pending rows, is analyzed,
# and each statement the scheduler and dispatcher run per batch or tick
# (and the API's list of schedules) is explained, as a custom and as a
# generic plan (prepared statements switch to the generic one after five
# runs): none may expect to read more than a few batches' rows of
# post_schedules or schedule_attempts, by a scan or by an index walk, and
# the holder look-up must use both columns of
# post_schedules_account_post_idx, once. Last, the scheduler's claim itself,
# run on due rows: no step of it may read every account or compare rows
# pairwise, and with an account limit it counts only the due accounts' posts.
source "$(dirname "$0")/lib.sh"

stack_trap
stack_start || fail "could not start nats-server and PostgreSQL"
SANDBOX_URL=http://127.0.0.1:9 svc_config # nothing calls a platform
svc_ctl migrate >/dev/null || fail "migrate failed"

# 100,000 schedules over 4,000 accounts of 400 tenants: 80 % published (each
# with a platform post id and two history lines), 500 queued (the batch), the
# rest pending.
# Large enough that a full scan costs the planner more than 500 look-ups by
# key (at 30,000 rows it rightly prefers the scan).
total=$(seed_scenario 2000 25 2 "$(rfc3339_in 3600)") || fail "seed failed"
((total == 100000)) || fail "seeded $total schedules, expected 100000"
stack_psql >/dev/null <<'SQL' || fail "could not shape the table"
WITH p AS (SELECT id FROM post_schedules ORDER BY id LIMIT 80000)
UPDATE post_schedules s SET status = 'published', attempts = 1,
       published_at = now() - interval '1 day', external_post_id = 'plan_' || s.id,
       updated_at = now()
  FROM p WHERE s.id = p.id;
INSERT INTO schedule_attempts (schedule_id, generation, attempt, event, actor)
SELECT id, generation, e.attempt, e.event, 'plans' FROM post_schedules
 CROSS JOIN (VALUES (0, 'queued'), (1, 'published')) AS e(attempt, event)
 WHERE status = 'published';
INSERT INTO tenants (name) SELECT 'plans-' || g FROM generate_series(1, 400) g;
WITH t AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM tenants WHERE name LIKE 'plans-%'),
     a AS (SELECT id, row_number() OVER (ORDER BY id) % 400 + 1 AS n FROM social_accounts)
UPDATE social_accounts s SET tenant_id = t.id FROM a JOIN t ON t.n = a.n WHERE s.id = a.id;
UPDATE posts p SET tenant_id = a.tenant_id
  FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id WHERE s.post_id = p.id;
WITH q AS (SELECT id FROM post_schedules WHERE status = 'pending' ORDER BY id LIMIT 500)
UPDATE post_schedules s SET status = 'queued', queued_at = now() FROM q WHERE s.id = q.id;
VACUUM ANALYZE;
SQL

# A batch as the services send it: 500 queued rows' ids, each "published"
# with a post id no other row holds.
mapfile -t ids < <(stack_psql -c "SELECT id FROM post_schedules WHERE status = 'queued' ORDER BY id")
((${#ids[@]} == 500)) || fail "expected 500 queued rows, found ${#ids[@]}"
arr() { # arr VALUE: an array literal of 500 copies of VALUE (@i: the element's index)
    local out='' i
    for ((i = 0; i < 500; i++)); do out+="${out:+,}${1//@i/$i}"; done
    printf "'{%s}'" "$out"
}
ids_lit="'{$(IFS=,; echo "${ids[*]}")}'"
n1=$(arr 1)
n0=$(arr 0)
nul=$(arr NULL)
fold_args="$ids_lit, $n0, $(arr published), $n1, $(arr 'new_@i'), $(arr 'https://p/@i'), $nul, $nul, $nul, $(arr "$(($(date +%s) * 1000))"), $nul, $nul, $nul"
history_args="$ids_lit, $n0, $n1, $(arr published), $nul, $nul, $nul, $(arr 'new_@i'), $(arr 200), $(arr plans), $(arr 0), $(arr 0)"

# explain NAME ARGS MODE: the JSON plan of store/sql/NAME.sql with ARGS.
explain() {
    local sql
    sql=$(cat "$AUTOPOST_SRC/store/sql/$1.sql") || return 1
    stack_psql -c "SET plan_cache_mode = $3" -c "PREPARE q AS $sql" \
        -c "EXPLAIN (FORMAT JSON) EXECUTE q($2)"
}

# The rows a plan expects to read from the big tables: every scan node on
# post_schedules or schedule_attempts (or one of their indexes) with the
# planner's own estimate of how much of it runs. A Limit reads its input
# only until it has its rows, so below one a scan is expected to read
# (limit / rows the Limit's input would give) of its rows; a sort, hash or
# aggregate in between reads everything first, and so do sub-plans. More
# than four batches' worth from one scan is a read of the table, not a
# look-up: a walk in id order filtered by tenant is (the tenant's share of
# the table decides how far it goes), a walk of the due index for one
# batch is not.
unbounded_scans() {
    jq -r 'def nodes($f): . as $n
             | {type: ."Node Type", rel: (."Relation Name" // ."Index Name" // ""),
                rows: (."Plan Rows" * $f)},
               (.Plans[]? | nodes(
                  if (."Parent Relationship" == "InitPlan" or ."Parent Relationship" == "SubPlan") then 1
                  elif $n."Node Type" == "Limit"
                  then ([1, $n."Plan Rows" / ([$n.Plans[0]."Plan Rows", 1] | max)] | min) * $f
                  elif ($n."Node Type" | test("Sort|^Hash$|Aggregate|WindowAgg")) then 1
                  else $f end));
           [.[0].Plan | nodes(1)
            | select((.type | test("Scan")) and .rows > 2000
                     and (.rel | test("^(post_schedules|schedule_attempts)")))
            | "\(.type) on \(.rel) (\(.rows | floor) rows)"] | join(", ")'
}

# check NAME ARGS: both plans keep to look-ups and bounded walks.
check() {
    local mode plan bad
    for mode in force_custom_plan force_generic_plan; do
        plan=$(explain "$1" "$2" "$mode") || fail "$1: could not explain ($mode)"
        bad=$(unbounded_scans <<<"$plan")
        [[ -z $bad ]] || fail "$1 ($mode): reads a big table in full: $bad"
        bad=$(jq -r '[.. | objects | select(."Index Name"? == "post_schedules_account_post_idx")
                      | ."Index Cond" // ""] | map(select(test("account_id") | not)) | length' <<<"$plan")
        [[ $bad == 0 ]] || fail "$1 ($mode): post_schedules_account_post_idx walked without its account_id"
        bad=$(jq -r '[.. | objects | select(."Index Name"? == "post_schedules_account_post_idx")] | length' <<<"$plan")
        ((bad <= 1)) || fail "$1 ($mode): the holder looked up $bad times per result"
    done
    pass "$1: look-ups and bounded walks only, custom and generic plan"
}

check fold_update "$fold_args"
check fold_history "$history_args"
check owner_lookup "$ids_lit"
check mark_queued "$ids_lit"
check expire_due "'{facebook}', '{60000}', 500"
check occurrences_skip_stale "60000, 500"

# The API's list of a tenant's schedules (GET /v1/schedules), first page and
# a later one, with and without filters: read through the tenant's accounts,
# never other tenants' rows. (With a single tenant the planner walks the
# table in id order for a page instead, which is then the tenant's.)
tenant=$(stack_psql -c "SELECT tenant_id FROM social_accounts ORDER BY id LIMIT 1")
account=$(stack_psql -c "SELECT id FROM social_accounts WHERE tenant_id = '$tenant' ORDER BY id LIMIT 1")
after=$(stack_psql -c "SELECT id FROM post_schedules WHERE account_id = '$account' ORDER BY id LIMIT 1")
check api_schedule_page "'$tenant', NULL, NULL, NULL, 51, NULL"
check api_schedule_page "'$tenant', 'published', '$account', '$after', 51, NULL"

# The claim itself, as a tick runs it, with 3,000 rows due over many
# accounts: it may read the window's accounts and the claimed rows' by key,
# but no step may read as many account rows as the table holds (joined as a
# table, every claim had read all accounts twice). Measured with EXPLAIN
# ANALYZE (autopost-scheduler --explain-claim, rolled back), so branches the
# claim does not run (rate limits, the crowded window) do not count.
stack_psql -c "WITH d AS (SELECT id FROM post_schedules WHERE status = 'pending' ORDER BY id LIMIT 3000)
  UPDATE post_schedules s SET scheduled_at = now() - interval '1 minute' FROM d WHERE s.id = d.id" \
    -c "WITH q AS (SELECT id FROM post_schedules WHERE status = 'pending' ORDER BY id DESC LIMIT 1500)
  UPDATE post_schedules s SET status = 'queued', queued_at = now() FROM q WHERE s.id = q.id" \
    >/dev/null || fail "could not make rows due and queued"
stack_psql -c "ANALYZE post_schedules" >/dev/null
accounts=$(stack_psql -c "SELECT count(*) FROM social_accounts")
plan=$("$AUTOPOST_BIN/autopost-scheduler" --config "$AUTOPOST_CONFIG" --explain-claim) ||
    fail "could not explain the claim: $plan"
grep -q "LockRows" <<<"$plan" || fail "the claim's plan has no LockRows: $plan"
read -r most node < <(awk '/ on social_accounts/ && /actual/ {
        match($0, /rows=[0-9]+ loops=[0-9]+\)/); split(substr($0, RSTART, RLENGTH), f, /[= )]/)
        n = f[2] * f[4]; if (n > most) { most = n; node = $0 } }
    END { gsub(/^ +|  +/, " ", node); print most + 0, node }' <<<"$plan")
((most < accounts)) || fail "the claim read $most of $accounts account rows in one step:$node"
# Nor may it compare rows pairwise: the planner had joined the window's
# accounts with the queued ones by nested loops (6,500 pairs here; 4,000,000
# and 400 ms a claim in a burst over 50,000 accounts). A join that pairs
# rows by key compares no more pairs than the window (2,000 rows) holds.
pairs=$(awk '/Rows Removed by Join Filter/ { if ($NF > m) m = $NF } END { print m + 0 }' <<<"$plan")
((pairs <= 2000)) || fail "the claim compared $pairs row pairs in one join"
pass "claim: accounts read by key ($most of $accounts in its largest step), at most $pairs pairs compared"

# The same claim with an account limit on the platform, its window holding
# the 80,000 published rows: each due account's use is counted by key. A
# count per platform read every post of the window in one pass, on every
# claim (a day's posts on Instagram), however few rows were due; here no
# single pass over the published rows' indexes may read more rows than are
# due and queued.
sed -i "s/^  facebook:\$/  facebook:\n    account_limit: 1000\n    account_window: 172800s/" "$AUTOPOST_CONFIG"
grep -q "account_limit: 1000" "$AUTOPOST_CONFIG" || fail "could not set facebook's account limit"
plan=$("$AUTOPOST_BIN/autopost-scheduler" --config "$AUTOPOST_CONFIG" --explain-claim) ||
    fail "could not explain the limited claim: $plan"
grep -q "account_published_idx" <<<"$plan" || fail "the limited claim counted no posts in the window: $plan"
read -r most node < <(awk '/ post_schedules_[a-z_]*published_idx / && /actual/ {
        match($0, /actual time=[0-9.]+\.\.[0-9.]+ rows=[0-9]+/); split(substr($0, RSTART, RLENGTH), f, /rows=/)
        n = f[2] + 0; if (n > most) { most = n; node = $0 } }
    END { gsub(/^ +|  +/, " ", node); print most + 0, node }' <<<"$plan")
((most <= 4500)) || fail "the limited claim read $most schedules in one pass:$node"
pass "limited claim: posts in the window counted by account (at most $most rows in one pass)"
