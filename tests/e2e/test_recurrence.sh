#!/usr/bin/env bash
# Recurring posts (issue 19, README "Recurring posts"), through autopost-api
# over HTTP and the real scheduler, publisher, dispatcher and sandbox:
#   1. the occurrences endpoint across DST changes in two zones (New York's
#      spring forward; Berlin's spring gap and autumn doubled hour), the
#      recurrence shown by GET, and the 422s (at + recurrence, bad zone,
#      bad rule, nonexistent start, more frequent than the minimum);
#   2. two schedulers materialising 150 series at once: exactly the rows the
#      rules give, one per (post, account, occurrence), and a forced second
#      pass over everything makes no row; a series cancel stops it;
#      autopostctl's series (schedule --rrule, import "recurrence") stored
#      and materialised the same way, bad rules refused by field;
#   3. a live FREQ=MINUTELY;COUNT=2 series published exactly once per
#      occurrence, ~60 s apart, the second with the text PATCHed in between;
#   4. an outage: the scheduler stops while a minutely series passes two
#      occurrences (one with a row made before the outage, one beyond the
#      horizon without one); after the restart both end skipped with a
#      reason and a schedule.skipped event, and the sandbox never sees them.
source "$(dirname "$0")/lib.sh"
source "$AUTOPOST_SRC/tests/fixtures/api_test.sh"

SVC_PLATFORMS="x facebook"
e2e_begin
api_test_config
# A one-minute horizon and a ten-second grace keep the outage short.
sed -i 's/^  tick: 200ms$/  tick: 200ms\n  recurrence_horizon: 1m\n  recurrence_grace: 10s/' "$AUTOPOST_CONFIG"
grep -q 'recurrence_grace: 10s' "$AUTOPOST_CONFIG" || fail "could not set the recurrence keys"

series() { # series ACCOUNT TEXT RRULE TZ START
    printf '{"account_ids": ["%s"], "text": "%s", "recurrence": {"rrule": "%s", "tz": "%s", "start": "%s"}}' \
        "$1" "$2" "$3" "$4" "$5"
}

api_test_tenant acme
XU=$(curl -fsS -H "Authorization: Bearer x-good-token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
XA=$(svc_ctl accounts add --platform x --external-id "$XU" --token x-good-token)
FA=$(svc_ctl accounts add --platform facebook --external-id 5001 --token fb-good-token)
FB=$(svc_ctl accounts add --platform facebook --external-id 5002 --token fb-good-token)
stack_psql -c "UPDATE social_accounts SET tenant_id = '$TENANT'" >/dev/null
# Every occurrence of a series has the same text: let the sandbox take
# identical text twice (X and Facebook refuse it; README "Recurring posts").
sandbox_post /_sandbox/config '{"reject_duplicates": false}' >/dev/null || fail "sandbox config"

# The API as deployed (tests/fixtures/api_test.sh).
api_test_start

# ---- 1. occurrences across DST, GET, 422 ---------------------------------------
occurrences() { # occurrences POST_ID LIMIT: the instants, comma-separated
    expect 200 GET "/v1/posts/$1/occurrences?limit=$2"
    j '.items | join(",")'
}
expect 201 POST /v1/posts "$(series "$XA" "ny" "FREQ=DAILY" America/New_York 2027-03-13T09:00:00)"
NY=$(j .id)
[[ $(j '.recurrence.tz') == America/New_York && $(j '.schedules | length') == 0 ]] ||
    fail "201 of a series: $(cat "$OUT")"
got=$(occurrences "$NY" 3)
[[ $got == 2027-03-13T14:00:00.000Z,2027-03-14T13:00:00.000Z,2027-03-15T13:00:00.000Z ]] ||
    fail "New York across its spring change: $got"
# Berlin, 2027-03-28: 02:30 does not exist (no occurrence that day).
expect 201 POST /v1/posts "$(series "$FA" "berlin spring" "FREQ=DAILY" Europe/Berlin 2027-03-27T02:30:00)"
got=$(occurrences "$(j .id)" 3)
[[ $got == 2027-03-27T01:30:00.000Z,2027-03-29T00:30:00.000Z,2027-03-30T00:30:00.000Z ]] ||
    fail "Berlin's spring gap: $got"
# Berlin, 2027-10-31: 02:30 happens twice; the first (CEST) is the one.
expect 201 POST /v1/posts "$(series "$FA" "berlin autumn" "FREQ=DAILY;COUNT=3" Europe/Berlin 2027-10-30T02:30:00)"
BA=$(j .id)
got=$(occurrences "$BA" 10)
[[ $got == 2027-10-30T00:30:00.000Z,2027-10-31T00:30:00.000Z,2027-11-01T01:30:00.000Z ]] ||
    fail "Berlin's doubled hour, COUNT=3: $got"
expect 200 GET "/v1/posts/$BA"
[[ $(j '.recurrence.rrule') == "FREQ=DAILY;COUNT=3" && $(j '.recurrence.start') == 2027-10-30T02:30:00 &&
    $(j '.recurrence.cancelled_at') == null ]] || fail "GET shows no recurrence: $(cat "$OUT")"
pass "occurrences across DST in New York and Berlin (gap: none, doubled: the first), COUNT, GET"

# ---- 1b. a long-running series: the post shows its newest schedules ---------
# 150 occurrences that ran long ago (as rows: a daily series a few months
# old), on the New York series, each created a minute after the last.
stack_psql -c "INSERT INTO post_schedules (post_id, account_id, scheduled_at, occurrence_at, status, created_at, updated_at)
    SELECT '$NY', '$XA', t, t, 'skipped', now() - (151 - g) * interval '1 minute', now()
      FROM generate_series(1, 150) g, LATERAL (SELECT timestamptz '2026-01-01 14:00Z' + g * interval '24 hours' AS t) x" >/dev/null ||
    fail "could not add past occurrences"
# and five of another series, which the post_id filter must leave out
stack_psql -c "INSERT INTO post_schedules (post_id, account_id, scheduled_at, occurrence_at, status)
    SELECT '$BA', '$FA', t, t, 'skipped'
      FROM generate_series(1, 5) g, LATERAL (SELECT timestamptz '2026-01-01 00:30Z' + g * interval '24 hours' AS t) x" >/dev/null ||
    fail "could not add the other series' occurrences"
expect 200 GET "/v1/posts/$NY"
[[ $(j '.schedules | length') == 100 && $(j .more_schedules) == true ]] ||
    fail "GET of a post with 150 schedules: $(j '.schedules | length') shown, more_schedules $(j .more_schedules)"
[[ $(j '.schedules[0].scheduled_at') == 2026-02-21T14:00:00.000Z && $(j '.schedules[99].scheduled_at') == 2026-05-31T14:00:00.000Z ]] ||
    fail "not the newest 100, oldest first: $(j '[.schedules[0].scheduled_at, .schedules[99].scheduled_at]')"
expect 200 GET "/v1/posts/$BA"
[[ $(j .more_schedules) == false ]] || fail "a post with few schedules says more exist"
seen=0 cursor=""
for page in 1 2 3 4; do
    expect 200 GET "/v1/schedules?post_id=$NY&limit=60${cursor:+&cursor=$cursor}"
    [[ $(j "[.data[] | select(.account_id != \"$XA\")] | length") == 0 ]] || fail "post_id filter let another post's schedule through"
    seen=$((seen + $(j '.data | length')))
    cursor=$(j '.next_cursor // empty')
    [[ -n $cursor ]] || break
done
[[ $seen == 150 && -z $cursor ]] || fail "GET /v1/schedules?post_id= paged $seen of 150 schedules (cursor ${cursor:-none})"
expect 422 GET "/v1/schedules?post_id=not-a-uuid"
[[ $(j '.error.details[0].field // .error.field // empty') == post_id ]] || fail "422 does not name post_id: $(cat "$OUT")"
pass "a post shows its 100 newest schedules and says more exist; GET /v1/schedules?post_id= pages through all 150"

before=$(stack_psql -c "SELECT count(*) FROM posts")
bad() { # bad FIELD BODY
    expect 422 POST /v1/posts "$2"
    [[ $(j '.error.details[0].field') == "$1" ]] || fail "422 names $(j '.error.details[0].field'), expected $1: $(cat "$OUT")"
}
bad recurrence "{\"account_ids\": [\"$XA\"], \"text\": \"a\", \"at\": \"$(rfc3339_in 3600)\",
    \"recurrence\": {\"rrule\": \"FREQ=DAILY\", \"tz\": \"UTC\", \"start\": \"2027-01-01T09:00:00\"}}"
bad recurrence.tz "$(series "$XA" a FREQ=DAILY Mars/Olympus 2027-01-01T09:00:00)"
bad recurrence.rrule "$(series "$XA" a FREQ=FORTNIGHTLY UTC 2027-01-01T09:00:00)"
bad recurrence.rrule "$(series "$XA" a FREQ=SECONDLY UTC 2027-01-01T09:00:00)"
bad recurrence.rrule "$(series "$XA" a "FREQ=MINUTELY;BYSECOND=0,30" UTC 2027-01-01T09:00:00)"
bad recurrence.start "$(series "$XA" a FREQ=DAILY America/New_York 2027-03-14T02:30:00)"
bad recurrence.start "$(series "$XA" a "FREQ=DAILY;COUNT=2" UTC 2020-01-01T09:00:00)"
[[ $(stack_psql -c "SELECT count(*) FROM posts") == "$before" ]] || fail "a refused series was stored"
pass "422: at with recurrence, unknown zone, bad rule, SECONDLY, 30 s apart, nonexistent start, ended rule"

# ---- 2. two schedulers materialising at once -----------------------------------
# 150 minutely series over two Facebook accounts (no publisher: the jobs just
# wait in the stream), starting in five seconds: both schedulers start
# at once on the same series and race to make the same rows.
stack_psql -c "INSERT INTO posts (tenant_id, text, recur_rrule, recur_tz, recur_start,
                                  recur_account_ids, recur_materialised_until)
               SELECT '$TENANT', 'race ' || g, 'FREQ=MINUTELY;COUNT=3', 'UTC',
                      to_char((now() + interval '5 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'),
                      ARRAY['$FA', '$FB']::uuid[], now()
                 FROM generate_series(1, 150) g" >/dev/null
svc_start scheduler@a
svc_start scheduler@b
race_rows() { stack_psql -c "SELECT count(*) FROM post_schedules s JOIN posts p ON p.id = s.post_id WHERE p.text LIKE 'race %'"; }
# COUNT=3 from start: 3 occurrences x 2 accounts x 150 series once the
# one-minute horizon has reached the third (start + 2 min, ~65 s from now).
deadline=$(($(date +%s) + 150))
until [[ $(race_rows) -ge 900 ]] || (($(date +%s) > deadline)); do sleep 1; done
sleep 2
[[ $(race_rows) == 900 ]] || fail "two schedulers made $(race_rows) rows, expected 900"
[[ $(stack_psql -c "SELECT count(*) FROM posts WHERE text LIKE 'race %' AND recur_materialised_until <> 'infinity'") == 0 ]] ||
    fail "some race series are not recorded as ended"
# A pass over everything again (as after a crash between insert and record):
stack_psql -c "UPDATE posts SET recur_materialised_until = now() - interval '5 minutes' WHERE text LIKE 'race %'" >/dev/null
deadline=$(($(date +%s) + 30))
until [[ $(stack_psql -c "SELECT count(*) FROM posts WHERE text LIKE 'race %' AND recur_materialised_until <> 'infinity'") == 0 ]] ||
    (($(date +%s) > deadline)); do sleep 0.5; done
[[ $(race_rows) == 900 ]] || fail "materialising again made $(race_rows) rows, expected 900"
! grep -h 'recurrence_failed' "$STACK_DIR"/logs/scheduler@*.log || fail "a materialising pass failed"
svc_kill scheduler@b TERM || fail "scheduler b did not stop cleanly"
pass "two schedulers: 900 rows for 150 series x 2 accounts x COUNT=3, none twice, even on a forced second pass"

# A series cancel: pending occurrences cancelled, nothing more made.
expect 201 POST /v1/posts "$(series "$FA" "to cancel" FREQ=MINUTELY UTC "$(date -u -d '+30 sec' +%Y-%m-%dT%H:%M:%S)")"
CP=$(j .id)
deadline=$(($(date +%s) + 20))
until [[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE post_id = '$CP'") -gt 0 ]] ||
    (($(date +%s) > deadline)); do sleep 0.5; done
expect 200 POST "/v1/posts/$CP/cancel"
[[ $(j .cancelled_schedules) -ge 1 && $(j .recurrence.cancelled_at) != null ]] || fail "cancel: $(cat "$OUT")"
[[ $(occurrences "$CP" 5) == "" ]] || fail "a cancelled series still lists occurrences"
sleep 2
[[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE post_id = '$CP' AND status <> 'cancelled'") == 0 ]] ||
    fail "rows of a cancelled series are not all cancelled"
pass "series cancel: pending occurrences cancelled, no occurrence listed or made afterwards"

# ---- autopostctl: the API's fields, rules and storage ---------------------------
# `schedule --rrule/--tz/--start` and an import line with "recurrence" make
# series the scheduler materialises exactly like the API's (no facebook
# publisher runs: the rows just wait); the API reads them back. A refused
# rule names its field and stores nothing.
CSTART=$(date -u -d '+20 sec' +%Y-%m-%dT%H:%M:%S)
CTL_P=$(svc_ctl schedule --account "$FA" --text "ctl series" --rrule "FREQ=MINUTELY;COUNT=1" \
    --tz UTC --start "$CSTART") || fail "autopostctl schedule --rrule"
[[ $CTL_P =~ ^[0-9a-f-]{36}$ ]] || fail "schedule --rrule printed '$CTL_P', not a post id"
[[ $(stack_psql -c "SELECT recur_rrule || '|' || recur_tz || '|' || recur_start || '|' || tenant_id || '|' ||
                           recur_account_ids::text FROM posts WHERE id = '$CTL_P'") == \
    "FREQ=MINUTELY;COUNT=1|UTC|$CSTART|$TENANT|{$FA}" ]] || fail "schedule --rrule stored: $(stack_psql -c "SELECT * FROM posts WHERE id = '$CTL_P'")"
ISTART=$(TZ=Asia/Ho_Chi_Minh date -d '+25 sec' +%Y-%m-%dT%H:%M:%S)
printf '%s\n' "{\"account_id\": \"$FB\", \"text\": \"imported series\", \"recurrence\": {\"rrule\": \"FREQ=MINUTELY;COUNT=1\", \"tz\": \"Asia/Ho_Chi_Minh\", \"start\": \"$ISTART\"}}" \
    "{\"account_id\": \"$FB\", \"at\": \"$(rfc3339_in 3600)\", \"text\": \"imported one-off\"}" >"$STACK_DIR/series.jsonl"
out=$(svc_ctl import "$STACK_DIR/series.jsonl") || fail "import with a recurrence line: $out"
[[ $out == "imported 1 schedules and 1 recurring posts" ]] || fail "import said: $out"
IMP_P=$(stack_psql -c "SELECT id FROM posts WHERE text = 'imported series'")
expect 200 GET "/v1/posts/$IMP_P"
[[ $(j .recurrence.tz) == Asia/Ho_Chi_Minh && $(j .recurrence.start) == "$ISTART" ]] || fail "GET of the imported series: $(cat "$OUT")"
at_of() { stack_psql -c "SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM post_schedules WHERE post_id = '$1'"; }
made() { [[ -n $(at_of "$CTL_P") && -n $(at_of "$IMP_P") ]]; }
stack_wait_for made >/dev/null || fail "the ctl series were not materialised: '$(at_of "$CTL_P")' '$(at_of "$IMP_P")'"
# One row each (COUNT=1; import made none itself), at the rule's instant.
[[ $(at_of "$CTL_P") == "$CSTART" ]] || fail "schedule --rrule's occurrence is at $(at_of "$CTL_P"), expected $CSTART"
[[ $(at_of "$IMP_P") == "$(date -u -d "$ISTART +07:00" +%Y-%m-%dT%H:%M:%S)" ]] ||
    fail "the imported series' occurrence is at $(at_of "$IMP_P") UTC, for $ISTART in Ho Chi Minh City"
before=$(stack_psql -c "SELECT count(*) FROM posts")
refused() { # refused TEXT ARGS...: autopostctl fails, saying TEXT
    local want=$1 out
    shift
    out=$(svc_ctl "$@" 2>&1) && fail "autopostctl $* was accepted"
    [[ $out == *"$want"* ]] || fail "autopostctl $*: '$out' does not say '$want'"
}
refused "--rrule" schedule --account "$FA" --text x --rrule FREQ=FORTNIGHTLY --tz UTC --start 2030-01-01T09:00:00
refused "--rrule" schedule --account "$FA" --text x --rrule "FREQ=MINUTELY;BYSECOND=0,30" --tz UTC --start 2030-01-01T09:00:00
refused "--tz" schedule --account "$FA" --text x --rrule FREQ=DAILY --tz Mars/Olympus --start 2030-01-01T09:00:00
refused "--start" schedule --account "$FA" --text x --rrule "FREQ=DAILY;COUNT=2" --tz UTC --start 2020-01-01T09:00:00
refused "go together" schedule --account "$FA" --text x --rrule FREQ=DAILY --tz UTC
refused "not both" schedule --account "$FA" --text x --at now --rrule FREQ=DAILY --tz UTC --start 2030-01-01T09:00:00
printf '%s\n' "{\"account_id\": \"$FB\", \"at\": \"now\", \"text\": \"fine\"}" \
    "{\"account_id\": \"$FB\", \"text\": \"b\", \"recurrence\": {\"rrule\": \"FREQ=MINUTELY;BYSECOND=0,30\", \"tz\": \"UTC\", \"start\": \"2030-01-01T09:00:00\"}}" \
    >"$STACK_DIR/bad-series.jsonl"
refused "bad-series.jsonl:2: recurrence.rrule" import "$STACK_DIR/bad-series.jsonl"
[[ $(stack_psql -c "SELECT count(*) FROM posts") == "$before" ]] || fail "a refused autopostctl series was stored"
pass "autopostctl schedule --rrule/--tz/--start and import's recurrence: stored as the API stores them, materialised; bad rules refused by field, nothing stored"

# ---- 3. live: FREQ=MINUTELY;COUNT=2, exactly once each, PATCH in between --------
svc_start publisher-x
svc_start dispatcher
START=$(date -u -d '+20 sec' +%Y-%m-%dT%H:%M:%S)
expect 201 POST /v1/posts "$(series "$XA" "every minute twice" "FREQ=MINUTELY;COUNT=2" UTC "$START")"
LIVE=$(j .id)
published() { stack_psql -c "SELECT count(*) FROM post_schedules WHERE post_id = '$LIVE' AND status = 'published'"; }
deadline=$(($(date +%s) + 60))
until [[ $(published) -ge 1 ]] || (($(date +%s) > deadline)); do sleep 0.5; done
[[ $(published) == 1 ]] || fail "the first occurrence was not published"
expect 422 PATCH "/v1/posts/$LIVE" "$(printf '{"text": "%s"}' "$(printf 'b%.0s' {1..300})")"
expect 200 PATCH "/v1/posts/$LIVE" '{"text": "every minute twice, edited"}'
[[ $(j .text) == "every minute twice, edited" ]] || fail "PATCH: $(cat "$OUT")"
deadline=$(($(date +%s) + 100))
until [[ $(published) -ge 2 ]] || (($(date +%s) > deadline)); do sleep 0.5; done
sleep 3 # anything more would show now
[[ $(published) == 2 && $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE post_id = '$LIVE'") == 2 ]] ||
    fail "COUNT=2: $(stack_psql -c "SELECT status, scheduled_at FROM post_schedules WHERE post_id = '$LIVE'")"
sandbox_get "/_sandbox/posts.tsv?page_id=$XU" | grep -P '\tevery minute twice' >"$STACK_DIR/live.tsv" || true
[[ $(wc -l <"$STACK_DIR/live.tsv") == 2 ]] || fail "the sandbox has $(wc -l <"$STACK_DIR/live.tsv") posts of the series: $(cat "$STACK_DIR/live.tsv")"
[[ $(cut -f2 "$STACK_DIR/live.tsv" | paste -sd'|') == "every minute twice|every minute twice, edited" ]] ||
    fail "texts on the sandbox: $(cut -f2 "$STACK_DIR/live.tsv")"
gap=$(awk -F'\t' 'NR==1{a=$3} NR==2{print int(($3-a)/1000)}' "$STACK_DIR/live.tsv")
((gap >= 55 && gap <= 65)) || fail "the occurrences went out $gap s apart, expected ~60"
pass "MINUTELY;COUNT=2: two posts on the sandbox, $gap s apart, the second with the PATCHed text"

# ---- 4. an outage skips instead of bursting ------------------------------------
START=$(date -u -d '+12 sec' +%Y-%m-%dT%H:%M:%S)
expect 201 POST /v1/posts "$(series "$XA" "outage series" FREQ=MINUTELY UTC "$START")"
OP=$(j .id)
deadline=$(($(date +%s) + 20))
until [[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE post_id = '$OP'") -gt 0 ]] ||
    (($(date +%s) > deadline)); do sleep 0.5; done
svc_kill scheduler@a TERM || fail "the scheduler did not stop cleanly"
[[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE post_id = '$OP'") == 1 ]] ||
    fail "before the outage: $(stack_psql -c "SELECT scheduled_at FROM post_schedules WHERE post_id = '$OP'")"
# The first occurrence (row made) and the second (beyond the horizon, no
# row) pass, each more than the grace, while no scheduler runs.
t_start=$(date -u -d "${START}Z" +%s)
wait_s=$((t_start + 60 + 14 - $(date +%s)))
((wait_s <= 0)) || sleep "$wait_s"
svc_start scheduler@c
skipped() { stack_psql -c "SELECT count(*) FROM post_schedules WHERE post_id = '$OP' AND status = 'skipped' AND error_code = 'occurrence_missed'"; }
deadline=$(($(date +%s) + 20))
until [[ $(skipped) -ge 2 ]] || (($(date +%s) > deadline)); do sleep 0.5; done
[[ $(skipped) == 2 ]] || fail "after the outage: $(stack_psql -c "SELECT status, scheduled_at, error_message FROM post_schedules WHERE post_id = '$OP' ORDER BY scheduled_at")"
[[ $(stack_psql -c "SELECT count(*) FROM post_schedules WHERE post_id = '$OP' AND status NOT IN ('skipped', 'pending')") == 0 ]] ||
    fail "an occurrence missed in the outage was sent: $(stack_psql -c "SELECT status, scheduled_at FROM post_schedules WHERE post_id = '$OP'")"
[[ $(stack_psql -c "SELECT count(*) FROM events WHERE post_id = '$OP' AND type = 'schedule.skipped'") == 2 ]] ||
    fail "schedule.skipped events: $(stack_psql -c "SELECT type FROM events WHERE post_id = '$OP'")"
[[ $(stack_psql -c "SELECT count(*) FROM schedule_attempts a JOIN post_schedules s ON s.id = a.schedule_id WHERE s.post_id = '$OP' AND a.event = 'skipped'") == 2 ]] ||
    fail "the skipped occurrences have no history line"
expect 200 GET "/v1/schedules?status=skipped&limit=200"
[[ $(j "[.data[] | select(.error.code == \"occurrence_missed\")] | length") -ge 2 ]] ||
    fail "GET /v1/schedules?status=skipped: $(head -c 400 "$OUT")"
sleep 2
[[ $(sandbox_get "/_sandbox/posts.tsv?page_id=$XU" | grep -cP '\toutage series') == 0 ]] ||
    fail "the sandbox got a missed occurrence"
expect 200 POST "/v1/posts/$OP/cancel"
pass "outage: both missed occurrences (with and without a row) skipped with a reason, an event and history; none sent"

e2e_finish
