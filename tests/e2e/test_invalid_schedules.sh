#!/usr/bin/env bash
# Schedules that can never be published end 'failed' with a stored reason and
# no platform call: written straight into the tables (as another app would),
# so autopostctl's own checks are bypassed and the services must catch them.
source "$(dirname "$0")/lib.sh"

e2e_begin
active=$(svc_ctl accounts add --platform facebook --external-id 1001 --token good-token)
disabled=$(svc_ctl accounts add --platform facebook --external-id 1002 --token other-token)
svc_ctl accounts set-status "$disabled" disabled >/dev/null

# insert_schedule ACCOUNT TEXT MEDIA_JSON -> schedule id
insert_schedule() {
    stack_psql -v account="$1" -v text="$2" -v media="$3" <<'SQL'
WITH p AS (INSERT INTO posts (text, media) VALUES (:'text', (:'media')::jsonb) RETURNING id)
INSERT INTO post_schedules (post_id, account_id, scheduled_at)
SELECT p.id, (:'account')::uuid, now() FROM p RETURNING id;
SQL
}
long_text=$(head -c 63207 /dev/zero | tr '\0' 'a')
too_long=$(insert_schedule "$active" "$long_text" '[]')
ftp_media=$(insert_schedule "$active" "photo" '[{"url":"ftp://example.test/a.jpg","type":"image"}]')
eleven=$(printf '{"url":"https://example.test/%d.jpg"},' {1..11})
too_many=$(insert_schedule "$active" "eleven photos" "[${eleven%,}]")
empty=$(insert_schedule "$active" "" '[]')
bad_type=$(insert_schedule "$active" "gif" '[{"url":"https://example.test/a.gif","type":"hologram"}]')
off=$(insert_schedule "$disabled" "account is off" '[]')
ok=$(insert_schedule "$active" "a fine post" '[]')

svc_start scheduler
svc_start dispatcher
svc_start publisher-facebook
svc_wait_terminal 7 60 || fail "invalid schedules did not reach a final state"

# expect ID STATUS REASON_SUBSTRING
expect() {
    local row
    row=$(stack_psql -F '|' -c "SELECT status, coalesce(error_message, '') FROM post_schedules WHERE id = '$1'")
    [[ ${row%%|*} == "$2" ]] || fail "schedule $1: status ${row%%|*}, expected $2 ($row)"
    [[ ${row#*|} == *"$3"* ]] || fail "schedule $1: reason '${row#*|}' lacks '$3'"
    echo "ok: $2 - ${row#*|}"
}
expect "$too_long" failed "63207 characters"
expect "$ftp_media" failed "http(s)"
expect "$too_many" failed "too many media"
expect "$empty" failed "empty post"
expect "$bad_type" failed "unknown type"
expect "$off" failed "disabled"
expect "$ok" published ""
requests=$(sandbox_stat requests)
[[ $requests -eq 1 ]] || fail "the sandbox got $requests calls; only the valid post may call it"
e2e_finish
pass "invalid schedules failed with reasons and made no platform call"
