#!/usr/bin/env bash
# Issue 17: a publisher stays in its platform. Results published on
# autopost.results.x that reach for a Facebook schedule or account (its
# status, a reauth mark, an app-wide pause, a stored credential) change no
# row: the dispatcher takes the platform from the subject, terminates them,
# logs them and counts them in autopost_results_forged_total. A genuine X
# result in the same stream is still applied.
source "$(dirname "$0")/lib.sh"

stack_trap
stack_start || fail "could not start nats-server and PostgreSQL"
SANDBOX_URL=http://127.0.0.1:9 svc_config # the dispatcher calls no platform
METRICS_PORT=$(stack_free_port) || fail "no free port"
printf 'service:\n  http_bind: 127.0.0.1\n  http_port: %s\n' "$METRICS_PORT" >>"$AUTOPOST_CONFIG"
svc_ctl migrate >/dev/null || fail "migrate failed"

FB_ACCOUNT=11111111-1111-4111-8111-111111111111
X_ACCOUNT=44444444-4444-4444-8444-444444444444
POST=22222222-2222-4222-8222-222222222222
FB_SCHEDULE=aaaaaaaa-0000-4000-8000-000000000001
X_SCHEDULE=aaaaaaaa-0000-4000-8000-000000000002
stack_psql <<SQL >/dev/null || fail "seed"
INSERT INTO social_accounts (id, platform, external_id, credentials, credentials_issued_at_ms)
    VALUES ('$FB_ACCOUNT', 'facebook', 'page-1', '\x00', 1000),
           ('$X_ACCOUNT', 'x', 'user-1', '\x00', 1000);
INSERT INTO posts (id, text) VALUES ('$POST', 'hello');
INSERT INTO post_schedules (id, post_id, account_id, scheduled_at, status)
    VALUES ('$FB_SCHEDULE', '$POST', '$FB_ACCOUNT', now(), 'queued'),
           ('$X_SCHEDULE', '$POST', '$X_ACCOUNT', now(), 'queued');
SQL
snapshot() {
    stack_psql -c "SELECT string_agg(concat_ws('|', id, status, attempts, generation,
        external_post_id, error_code, updated_at), ',' ORDER BY id) FROM post_schedules"
    stack_psql -c "SELECT string_agg(concat_ws('|', id, status, status_reason,
        encode(credentials, 'hex'), credentials_issued_at_ms, paused_until, updated_at), ','
        ORDER BY id) FROM social_accounts"
    stack_psql -c "SELECT count(*) FROM schedule_attempts"
}
before=$(snapshot)
logged() { grep -q "\"event\":\"$1\"" "$STACK_DIR/logs/dispatcher.log"; }
svc_start dispatcher
stack_wait_for logged dispatcher_started >/dev/null || fail "dispatcher did not start"

now_ms=$(($(date +%s) * 1000))
# forged NAME: what x's publisher (compromised) sends, on its own subject.
forged() { nats_pub autopost.results.x "$STACK_DIR/$1.bin"; }
common() { pb_int 9 1; pb_int 11 "$now_ms"; pb_str 12 "x-publisher-0"; }
# Mark a Facebook schedule published, naming it x's.
{ pb_str 1 "$FB_SCHEDULE"; pb_int 2 1; pb_int 3 1; pb_str 4 "forged_1"; common
  pb_str 13 x; pb_str 16 "$FB_ACCOUNT"; } >"$STACK_DIR/published.bin"
# A REAUTH failure of its own schedule that names the Facebook account.
{ pb_str 1 "$X_SCHEDULE"; pb_int 2 1; pb_int 3 3; pb_int 6 3; pb_str 7 auth; pb_str 8 "revoked"
  common; pb_str 13 x; pb_str 16 "$FB_ACCOUNT"; pb_int 17 $((now_ms + 5000)); } >"$STACK_DIR/reauth.bin"
# An app-wide pause of every Facebook account, on its own schedule.
{ pb_str 1 "$X_SCHEDULE"; pb_int 2 1; pb_int 3 2; pb_int 6 1; pb_str 7 "4"; pb_str 8 "slow down"
  common; pb_str 13 facebook; pb_int 14 3600000; pb_int 19 2; } >"$STACK_DIR/pause.bin"
# A stored credential for the Facebook account, on the Facebook schedule.
{ pb_str 1 "$FB_SCHEDULE"; pb_int 2 1; pb_int 3 2; pb_int 6 1; pb_str 8 "retry"; common
  pb_str 16 "$FB_ACCOUNT"; pb_int 17 $((now_ms + 5000)); pb_str 18 "attacker-sealed-token"; } \
    >"$STACK_DIR/credential.bin"
for f in published reauth pause credential; do forged "$f"; done
# The genuine result of x's own schedule, after them in the stream.
{ pb_str 1 "$X_SCHEDULE"; pb_int 2 1; pb_int 3 1; pb_str 4 "x_1"; common
  pb_str 13 x; pb_str 16 "$X_ACCOUNT"; } >"$STACK_DIR/genuine.bin"
forged genuine

x_status() { stack_psql -c "SELECT status FROM post_schedules WHERE id = '$X_SCHEDULE'"; }
x_published() { [[ $(x_status) == published ]]; }
stack_wait_for x_published >/dev/null || fail "the genuine x result was not applied: $(x_status)"

# Nothing of Facebook moved: the whole of both tables as before, except the x
# schedule the genuine result published (and its one history line).
after=$(snapshot)
fb_rows() { grep -o "$FB_SCHEDULE[^,]*\|$FB_ACCOUNT[^,]*\|$X_ACCOUNT[^,]*" <<<"$1"; }
[[ $(fb_rows "$after") == "$(fb_rows "$before")" ]] ||
    fail "forged results changed rows: before $(fb_rows "$before") after $(fb_rows "$after")"
history=$(stack_psql -c "SELECT string_agg(schedule_id || ':' || event, ',') FROM schedule_attempts")
[[ $history == "$X_SCHEDULE:published" ]] || fail "history holds forged lines: $history"

scrape() { curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics"; }
forged_count() {
    scrape | awk -v s="autopost_results_forged_total{reason=\"$1\"}" \
        '$1 == s { print $2; found = 1 } END { exit !found }'
}
[[ $(forged_count platform) == 3 ]] || fail "forged{reason=platform}: $(forged_count platform), expected 3"
[[ $(forged_count account) == 1 ]] || fail "forged{reason=account}: $(forged_count account), expected 1"
[[ $(log_count dispatcher result_forged) == 4 ]] ||
    fail "$(log_count dispatcher result_forged) result_forged log lines, expected 4"
! grep -q attacker-sealed-token "$STACK_DIR/logs/dispatcher.log" || fail "the log holds the credential"
e2e_finish
pass "forged results on another platform's subject change nothing and are counted"
